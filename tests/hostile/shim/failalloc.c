/* failalloc.c: an LD_PRELOAD shim for the allocation-failure test. Every
 * realloc of at least $FAILALLOC_MIN bytes fails with ENOMEM, as it would
 * when the machine is out of memory; everything else goes to glibc. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>

static size_t threshold(void)
{
    static size_t min;
    if (min == 0) {
        const char *s = getenv("FAILALLOC_MIN");
        min = s ? strtoull(s, NULL, 10) : (size_t)-1;
    }
    return min;
}

void *realloc(void *p, size_t n)
{
    static void *(*real)(void *, size_t);
    if (real == NULL) {
        real = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
    }
    if (n >= threshold()) {
        errno = ENOMEM;
        return NULL;
    }
    return real(p, n);
}
