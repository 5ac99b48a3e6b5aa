/* region.h: reserving and releasing large anonymous memory regions, and
 * drawing kernel randomness. The store's only needs from the operating
 * system, kept in base/ so src/store/ includes no system header. */
#ifndef HC_BASE_REGION_H
#define HC_BASE_REGION_H

#include <stddef.h>

void *region_reserve(size_t size);
void region_release(void *base, size_t size);
int region_random(void *buf, size_t n);

#endif
