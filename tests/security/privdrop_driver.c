/* privdrop_driver.c: a test-only stand-in for the daemon's start-up, built by
 * tests/security/test_privileges.py against src/sec/privdrop.c. It resolves
 * the run-as user, optionally starts threads before the drop (which must be
 * refused) or after it (which must inherit everything), applies the drop,
 * prints what it sees and then waits for stdin to close, so the test can
 * inspect /proc/PID from outside while it is alive. Exit: resolve's
 * fail_status, or 71 when the drop fails. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "sec/privdrop.h"

#define MAX_THREADS 8

struct thread_report {
    pthread_t id;
    int setuid_rc;  /* setuid(0) from inside the thread */
    int setgid_rc;
};

static struct thread_report reports[MAX_THREADS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int started;

static void *thread_main(void *arg)
{
    struct thread_report *r = arg;
    r->setgid_rc = setgid(0);
    r->setuid_rc = setuid(0);
    pthread_mutex_lock(&lock);
    started++;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
    for (;;) {
        pause();
    }
    return NULL;
}

/* Starts n threads at reports[first..] and waits until each has run. */
static void spawn(int first, int n)
{
    for (int i = first; i < first + n; i++) {
        if (pthread_create(&reports[i].id, NULL, thread_main, &reports[i]) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            exit(70);
        }
    }
    pthread_mutex_lock(&lock);
    while (started < first + n) {
        pthread_cond_wait(&cond, &lock);
    }
    pthread_mutex_unlock(&lock);
}

static void print_status(void)
{
    static const char *const keys[] = { "Uid:", "Gid:", "Groups:", "CapInh:", "CapPrm:",
                                        "CapEff:", "CapBnd:", "CapAmb:", "NoNewPrivs:" };
    char line[512];
    FILE *f = fopen("/proc/self/status", "re");
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
            if (strncmp(line, keys[i], strlen(keys[i])) == 0) {
                fputs(line, stdout);
            }
        }
    }
    if (f != NULL) {
        fclose(f);
    }
}

static int arg_int(int argc, char **argv, const char *name, int def)
{
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], name) == 0) {
            return atoi(argv[i + 1]);
        }
    }
    return def;
}

static const char *arg_str(int argc, char **argv, const char *name, const char *def)
{
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], name) == 0) {
            return argv[i + 1];
        }
    }
    return def;
}

static bool has_flag(int argc, char **argv, const char *name)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], name) == 0) {
            return true;
        }
    }
    return false;
}

int main(int argc, char **argv)
{
    char err[512];
    struct run_as ra;
    int before = arg_int(argc, argv, "--threads-before", 0);
    int after = arg_int(argc, argv, "--threads-after", 0);
    if (before < 0 || after < 0 || before + after > MAX_THREADS) {
        fprintf(stderr, "usage: %s [--user U] [--threads-before N] [--threads-after N] "
                "[--coredumps]\n", argv[0]);
        return 64;
    }
    if (!privdrop_resolve(arg_str(argc, argv, "--user", NULL), &ra, err, sizeof(err))) {
        fprintf(stderr, "resolve: %s\n", err);
        return ra.fail_status;
    }
    printf("RESOLVED name=%s uid=%lu gid=%lu switch=%d\n", ra.name, (unsigned long)ra.uid,
           (unsigned long)ra.gid, ra.switch_user ? 1 : 0);
    fflush(stdout);
    spawn(0, before);
    if (!privdrop_apply(&ra, has_flag(argc, argv, "--coredumps"), err, sizeof(err))) {
        fprintf(stderr, "apply: %s\n", err);
        return 71;
    }
    spawn(before, after);
    for (int i = 0; i < before + after; i++) {
        printf("THREAD %d setuid0=%d setgid0=%d\n", i, reports[i].setuid_rc,
               reports[i].setgid_rc);
    }
    printf("DUMPABLE %d\n", prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
    print_status();
    printf("READY\n");
    fflush(stdout);
    char buf[64];
    errno = 0;
    while (read(STDIN_FILENO, buf, sizeof(buf)) > 0 || errno == EINTR) {
        errno = 0;
    }
    return 0;
}
