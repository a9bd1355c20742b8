#ifndef PORTEN_CORE_TIMEUTIL_H
#define PORTEN_CORE_TIMEUTIL_H

#include <stdint.h>

/* Seconds since the epoch.  Tests may shift it with time_set_offset(). */
int64_t time_now(void);
void time_set_offset(int64_t seconds);
/* Monotonic milliseconds, for measuring durations. */
int64_t time_mono_ms(void);

#endif
