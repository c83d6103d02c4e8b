#include "config.h"
/* placeholder until its owner lands it */
