/* region.c: the store's only calls into the operating system: reserving and
 * releasing the one item region, and drawing the hash secret. Kept apart so
 * an auditor of src/store/ finds no system call there at all. */
#include <errno.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/random.h>

#include "base/region.h"

/* MAP_NORESERVE and lazy use: pages no class ever touched stay non-resident,
 * so RSS follows the memory actually holding items, never above the region. */
void *region_reserve(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void region_release(void *base, size_t size)
{
    if (base != NULL) {
        (void)munmap(base, size);
    }
}

/* SECURITY: the hash secret comes from the kernel's CSPRNG; failing that,
 * start-up fails rather than run with a guessable bucket function. */
int region_random(void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        p += got;
        n -= (size_t)got;
    }
    return 0;
}
