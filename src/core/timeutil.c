#include "core/timeutil.h"

#include <stdatomic.h>
#include <time.h>

static _Atomic int64_t time_offset;

int64_t
time_now(void)
{
	return (int64_t)time(NULL) + atomic_load(&time_offset);
}

void
time_set_offset(int64_t seconds)
{
	atomic_store(&time_offset, seconds);
}

int64_t
time_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
