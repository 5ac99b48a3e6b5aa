/* test_reader.c: the file reader (sec/reader.c), the helper that opens the
 * files a reload needs while the daemon cannot. Each case starts its own
 * reader inside the test (check forks each case, and a reader dies with the
 * thread that started it), stops it and reaps it within a deadline, so the
 * suite runs the same with CK_FORK=no (the sanitizer run). The confinement
 * cases read /proc/<reader>/status; the parts that need root (the bounding
 * set, the network namespace, its descriptors) say SKIP with the reason
 * otherwise. Filter cases fork a child that loads the reader's filter and
 * makes one call: a forbidden call must kill it with SIGSYS. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sec/reader.h"

#define DEADLINE_MS 10000           /* any wait for a process to end */
#define CHILD_ALARM_S 20            /* a filtered child never outlives a hang */

static char dir[256];               /* this case's scratch directory */
static char err[512];

/* ------------------------------------------------------------- scratch */

static void scratch_setup(void)
{
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(dir, sizeof dir, "%s/hc_reader_XXXXXX", tmp);
    ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp: %s", strerror(errno));
}

static void scratch_teardown(void)
{
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* dir/name, in a buffer that lives as long as the case. */
static const char *at(const char *name)
{
    static char paths[8][PATH_MAX];
    static unsigned next;
    char *p = paths[next++ % 8];
    snprintf(p, PATH_MAX, "%s/%s", dir, name);
    return p;
}

static void put(const char *name, const void *data, size_t len)
{
    int fd = open(at(name), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ck_assert_msg(fd >= 0, "%s: %s", name, strerror(errno));
    ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
    ck_assert_int_eq(close(fd), 0);
}

#define PUT(name, lit) put((name), (lit), sizeof(lit) - 1)

/* -------------------------------------------------- processes, deadlines */

static long ms_left(const struct timespec *end)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (end->tv_sec - now.tv_sec) * 1000 + (end->tv_nsec - now.tv_nsec) / 1000000;
}

/* Waits until child pid ends (a pidfd becomes readable) or the deadline
 * passes; its wait status. */
static int wait_exit(pid_t pid)
{
    struct timespec end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    end.tv_sec += DEADLINE_MS / 1000;
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    ck_assert_msg(pfd >= 0, "pidfd_open(%ld): %s", (long)pid, strerror(errno));
    struct pollfd p = { .fd = pfd, .events = POLLIN };
    long left;
    while ((left = ms_left(&end)) > 0 && poll(&p, 1, (int)left) != 1) {
    }
    close(pfd);
    int status;
    pid_t got = waitpid(pid, &status, WNOHANG);
    ck_assert_msg(got == pid, "process %ld still runs after %d ms", (long)pid, DEADLINE_MS);
    return status;
}

static struct reader *start(const char *const *paths, size_t n)
{
    struct reader *r = reader_start(paths, n, err, sizeof err);
    ck_assert_msg(r != NULL, "reader_start: %s", err);
    ck_assert_int_gt(reader_pid(r), 0);
    return r;
}

/* Closes our end; the reader must exit 0 by itself, within the deadline. */
static void stop(struct reader **r)
{
    pid_t pid = reader_pid(*r);
    reader_destroy(r);
    ck_assert(*r == NULL);
    int status = wait_exit(pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "reader ended with status %#x", status);
}

static void ck_file(const struct reader_file *f, const void *want, size_t len)
{
    ck_assert_msg(f->err == 0, "err %d (%s)", f->err, strerror(f->err));
    ck_assert_uint_eq(f->len, len);
    ck_assert_ptr_nonnull(f->data);
    ck_assert(memcmp(f->data, want, len) == 0);
    ck_assert_int_eq(f->data[len], '\0');
}

#define CK_FILE(f, lit) ck_file((f), (lit), sizeof(lit) - 1)

static void ck_failed(const struct reader_file *f, int e)
{
    ck_assert_msg(f->err == e, "err %d (%s), want %d (%s)", f->err, strerror(f->err), e, strerror(e));
    ck_assert_ptr_null(f->data);
    ck_assert_uint_eq(f->len, 0);
}

static void fetch(struct reader *r, struct reader_file *out)
{
    ck_assert_msg(reader_fetch(r, out, err, sizeof err), "reader_fetch: %s", err);
}

/* No core files from the deaths we cause; no child outlives a hang. */
static void child_limits(void)
{
    struct rlimit none = { 0, 0 };
    if (setrlimit(RLIMIT_CORE, &none) != 0) {
        _exit(90);
    }
    alarm(CHILD_ALARM_S);
}

/* ------------------------------------------------------------- fetching */

START_TEST(test_fetch_several)
{
    static const char binary[] = { 'k', 0, 'e', (char)0xff, 'y', '\n' };
    PUT("cert.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    put("key.der", binary, sizeof binary);
    PUT("empty", "");
    const char *paths[] = { at("cert.pem"), at("key.der"), at("empty") };
    struct reader *r = start(paths, 3);
    struct reader_file out[3];
    for (int round = 0; round < 3; round++) {   /* asked again and again */
        fetch(r, out);
        CK_FILE(&out[0], "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
        ck_file(&out[1], binary, sizeof binary);
        CK_FILE(&out[2], "");
        reader_files_free(out, 3);
        ck_assert_ptr_null(out[0].data);
    }
    stop(&r);
}
END_TEST

/* As root, a file of another user with mode 0600 (a key owned by the
 * service user) is read, as memcached reads it as root before its drop. */
START_TEST(test_reads_another_users_private_file)
{
    if (geteuid() != 0) {
        printf("SKIP another user's 0600 file: not root (uid %ld)\n", (long)geteuid());
        fflush(stdout);
        return;
    }
    PUT("key.pem", "private");
    ck_assert_int_eq(chown(at("key.pem"), 65534, 65534), 0);
    ck_assert_int_eq(chmod(at("key.pem"), 0600), 0);
    const char *paths[] = { at("key.pem") };
    struct reader *r = start(paths, 1);
    struct reader_file out[1];
    fetch(r, out);
    CK_FILE(&out[0], "private");
    reader_files_free(out, 1);
    stop(&r);
}
END_TEST

START_TEST(test_no_files)
{
    struct reader *r = start(NULL, 0);
    fetch(r, NULL);
    stop(&r);
}
END_TEST

START_TEST(test_missing_file)
{
    PUT("a", "first");
    PUT("c", "third");
    const char *paths[] = { at("a"), at("b"), at("c") };
    struct reader *r = start(paths, 3);
    struct reader_file out[3];
    fetch(r, out);
    CK_FILE(&out[0], "first");
    ck_failed(&out[1], ENOENT);
    CK_FILE(&out[2], "third");
    reader_files_free(out, 3);
    PUT("b", "second");                         /* it appears: the next fetch has it */
    fetch(r, out);
    CK_FILE(&out[1], "second");
    reader_files_free(out, 3);
    stop(&r);
}
END_TEST

/* certbot writes the new file beside the old one and renames it over. */
START_TEST(test_replaced_by_rename)
{
    PUT("cert.pem", "old certificate");
    const char *paths[] = { at("cert.pem") };
    struct reader *r = start(paths, 1);
    struct reader_file out[1];
    fetch(r, out);
    CK_FILE(&out[0], "old certificate");
    reader_files_free(out, 1);
    PUT("cert.pem.tmp", "new certificate, longer than the old one");
    ck_assert_int_eq(rename(at("cert.pem.tmp"), at("cert.pem")), 0);
    fetch(r, out);
    CK_FILE(&out[0], "new certificate, longer than the old one");
    reader_files_free(out, 1);
    stop(&r);
}
END_TEST

/* certbot's live/ names are symlinks into archive/, re-pointed on renewal
 * (a new link renamed over the old one). */
START_TEST(test_symlink_repointed)
{
    PUT("cert1.pem", "renewal 1");
    PUT("cert2.pem", "renewal 2");
    ck_assert_int_eq(symlink(at("cert1.pem"), at("live.pem")), 0);
    const char *paths[] = { at("live.pem") };
    struct reader *r = start(paths, 1);
    struct reader_file out[1];
    fetch(r, out);
    CK_FILE(&out[0], "renewal 1");
    reader_files_free(out, 1);
    ck_assert_int_eq(symlink("cert2.pem", at("live.tmp")), 0);     /* relative, as certbot's */
    ck_assert_int_eq(rename(at("live.tmp"), at("live.pem")), 0);
    fetch(r, out);
    CK_FILE(&out[0], "renewal 2");
    reader_files_free(out, 1);
    stop(&r);
}
END_TEST

/* A directory, a FIFO (must not hang) and a device are not files to read. */
START_TEST(test_not_regular)
{
    ck_assert_int_eq(mkdir(at("certs"), 0700), 0);
    ck_assert_int_eq(mkfifo(at("fifo"), 0600), 0);
    const char *paths[] = { at("certs"), at("fifo"), "/dev/zero" };
    struct reader *r = start(paths, 3);
    struct reader_file out[3];
    fetch(r, out);
    for (int i = 0; i < 3; i++) {
        ck_failed(&out[i], EINVAL);
    }
    stop(&r);
}
END_TEST

START_TEST(test_size_limit)
{
    PUT("max", "");
    PUT("over", "");
    ck_assert_int_eq(truncate(at("max"), READER_FILE_MAX), 0);
    ck_assert_int_eq(truncate(at("over"), (off_t)READER_FILE_MAX + 1), 0);
    const char *paths[] = { at("over"), at("max") };
    struct reader *r = start(paths, 2);
    struct reader_file out[2];
    fetch(r, out);
    ck_failed(&out[0], EFBIG);
    ck_assert_int_eq(out[1].err, 0);            /* exactly the limit is fine */
    ck_assert_uint_eq(out[1].len, READER_FILE_MAX);
    ck_assert_int_eq(out[1].data[READER_FILE_MAX], '\0');
    reader_files_free(out, 2);
    stop(&r);
}
END_TEST

/* A reader started by one process serves a process forked from it, and
 * stays in step for its starter afterwards (as under CK_FORK). */
START_TEST(test_fetch_from_forked_child)
{
    PUT("f", "shared");
    const char *paths[] = { at("f") };
    struct reader *r = start(paths, 1);
    struct reader_file out[1];
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        bool ok = reader_fetch(r, out, err, sizeof err) && out[0].len == 6 &&
                  memcmp(out[0].data, "shared", 6) == 0;
        _exit(ok ? 0 : 1);
    }
    int status = wait_exit(pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x", status);
    fetch(r, out);
    CK_FILE(&out[0], "shared");
    reader_files_free(out, 1);
    stop(&r);
}
END_TEST

/* --------------------------------------------------------- its lifetime */

START_TEST(test_exits_when_daemon_closes)
{
    struct reader *r = start(NULL, 0);
    stop(&r);       /* stop() waits for it: exit status 0 within the deadline */
}
END_TEST

/* The daemon dies while another process still holds the socket: the reader
 * must not stay behind (PR_SET_PDEATHSIG). We adopt orphans to reap it. */
START_TEST(test_dies_with_daemon)
{
    int pids[2], hold[2];
    ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
    ck_assert_int_eq(pipe2(pids, O_CLOEXEC), 0);
    ck_assert_int_eq(pipe2(hold, O_CLOEXEC), 0);
    pid_t daemon = fork();
    ck_assert_int_ge(daemon, 0);
    if (daemon == 0) {
        close(pids[0]);
        close(hold[1]);
        struct reader *r = reader_start(NULL, 0, err, sizeof err);
        pid_t got[2] = { r != NULL ? reader_pid(r) : -1, fork() };
        if (got[1] == 0) {          /* holds the socket open until told */
            char c;
            (void)!read(hold[0], &c, 1);
            _exit(0);
        }
        _exit(write(pids[1], got, sizeof got) == sizeof got ? 0 : 1);
    }
    close(pids[1]);
    close(hold[0]);
    pid_t got[2];
    ck_assert_int_eq(read(pids[0], got, sizeof got), (ssize_t)sizeof got);
    ck_assert_int_gt(got[0], 0);
    ck_assert_int_gt(got[1], 0);
    ck_assert(WIFEXITED(wait_exit(daemon)));
    int status = wait_exit(got[0]);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "reader status %#x", status);
    close(hold[1]);
    ck_assert(WIFEXITED(wait_exit(got[1])));
    close(pids[0]);
}
END_TEST

START_TEST(test_fetch_after_reader_died)
{
    PUT("f", "x");
    const char *paths[] = { at("f"), at("f") };
    struct reader *r = start(paths, 2);
    pid_t pid = reader_pid(r);
    ck_assert_int_eq(kill(pid, SIGKILL), 0);
    ck_assert(WIFSIGNALED(wait_exit(pid)));
    struct reader_file out[2] = { { .err = 7 }, { .err = 7 } };
    ck_assert(!reader_fetch(r, out, err, sizeof err));
    ck_assert_msg(strstr(err, "the file reader (pid") != NULL && strstr(err, "gone") != NULL, "%s", err);
    ck_failed(&out[0], 0);
    ck_failed(&out[1], 0);
    char again[512];
    ck_assert(!reader_fetch(r, out, again, sizeof again));  /* and stays failed */
    ck_assert_str_eq(again, err);
    reader_destroy(&r);
}
END_TEST

START_TEST(test_start_refuses)
{
    const char *many[READER_MAX_FILES + 1];
    for (int i = 0; i <= READER_MAX_FILES; i++) {
        many[i] = "/etc/hostname";
    }
    ck_assert_ptr_null(reader_start(many, READER_MAX_FILES + 1, err, sizeof err));
    ck_assert_msg(strstr(err, "at most 16 files") != NULL, "%s", err);
    const char *bad[] = { "/etc/hostname", "" };
    ck_assert_ptr_null(reader_start(bad, 2, err, sizeof err));
    ck_assert_msg(strstr(err, "path 1 is empty") != NULL, "%s", err);
    bad[1] = NULL;
    ck_assert_ptr_null(reader_start(bad, 2, err, sizeof err));
    ck_assert(!reader_fetch(NULL, NULL, err, sizeof err));
}
END_TEST

/* A set-up step the kernel refuses ends the start, naming the step; a
 * reader killed during set-up is reported as such; an unshare refused with
 * EPERM (not root, systemd's RestrictNamespaces=) is no failure. Provoked by
 * a filter of our own in a forked child: the reader inherits it. */
static const struct {
    const char *call;
    uint32_t action;
    const char *want;               /* in err; NULL: the start succeeds */
} setup_cases[] = {
    { "capset", SCMP_ACT_ERRNO(EPERM), "file reader: cannot drop capabilities: Operation not permitted" },
    { "unshare", SCMP_ACT_ERRNO(ENOMEM), "file reader: cannot leave the network namespace (unshare): Cannot allocate memory" },
    { "close_range", SCMP_ACT_ERRNO(EBADF), "file reader: cannot close the daemon's descriptors (close_range): Bad file descriptor" },
    { "unshare", SCMP_ACT_KILL_PROCESS, "during set-up (a call its filter refuses)" },
    { "unshare", SCMP_ACT_ERRNO(EPERM), NULL },
};

static bool start_under_filter(int nr, uint32_t action, const char *want)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (ctx == NULL || seccomp_rule_add(ctx, action, nr, 0) != 0 || seccomp_load(ctx) != 0) {
        return false;
    }
    seccomp_release(ctx);
    char e[512] = "";
    struct reader *r = reader_start(NULL, 0, e, sizeof e);
    bool ok = want == NULL ? r != NULL : r == NULL && strstr(e, want) != NULL;
    if (!ok) {
        fprintf(stderr, "want \"%s\", got %s\n", want ? want : "a reader", r != NULL ? "a reader" : e);
    }
    if (r != NULL) {
        pid_t pid = reader_pid(r);
        reader_destroy(&r);
        ok = ok && waitpid(pid, NULL, 0) == pid;
    }
    return ok;
}

START_TEST(test_setup_fails_closed)
{
    int nr = seccomp_syscall_resolve_name(setup_cases[_i].call);
    ck_assert_int_ge(nr, 0);
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        child_limits();
        _exit(start_under_filter(nr, setup_cases[_i].action, setup_cases[_i].want) ? 0 : 1);
    }
    int status = wait_exit(pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: status %#x",
                  setup_cases[_i].call, status);
}
END_TEST

/* ---------------------------------------------------------- confinement */

static void read_text(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
    ssize_t got = read(fd, buf, len - 1);
    ck_assert_int_gt(got, 0);
    buf[got] = '\0';
    close(fd);
}

static void ck_status_has(const char *status, const char *line)
{
    ck_assert_msg(strstr(status, line) != NULL, "want \"%s\" in:\n%s", line, status);
}

/* Only root can keep a bounding set, enter a namespace or read the fds of
 * a process that is not dumpable. */
static void ck_root_confinement(pid_t pid, const char *status)
{
    char path[64], mine[64] = "", its[64] = "";
    ck_status_has(status, "\nCapBnd:\t0000000000000004\n");   /* CAP_DAC_READ_SEARCH */
    ck_assert_int_gt(readlink("/proc/self/ns/net", mine, sizeof mine - 1), 0);
    snprintf(path, sizeof path, "/proc/%ld/ns/net", (long)pid);
    ck_assert_int_gt(readlink(path, its, sizeof its - 1), 0);
    ck_assert_msg(strcmp(mine, its) != 0, "the reader shares our network namespace %s", mine);
    snprintf(path, sizeof path, "/proc/%ld/fd/3", (long)pid);
    ck_assert_int_gt(readlink(path, its, sizeof its - 1), 0);
    ck_assert_msg(strncmp(its, "socket:", 7) == 0, "fd 3 is %s", its);
    for (int fd = 0; fd < 64; fd++) {           /* nothing else is open */
        snprintf(path, sizeof path, "/proc/%ld/fd/%d", (long)pid, fd);
        ck_assert_msg(fd == 3 || access(path, F_OK) != 0, "the reader holds fd %d", fd);
    }
}

START_TEST(test_confined)
{
    PUT("f", "x");
    const char *paths[] = { at("f") };
    struct reader *r = start(paths, 1);
    char path[64], status[8192];
    snprintf(path, sizeof path, "/proc/%ld/status", (long)reader_pid(r));
    read_text(path, status, sizeof status);
    ck_status_has(status, "Name:\thardcached-rd\n");
    ck_status_has(status, "\nSeccomp:\t2\n");
    ck_status_has(status, "\nNoNewPrivs:\t1\n");
    ck_status_has(status, "\nCapInh:\t0000000000000000\n");
    /* as root the reader keeps CAP_DAC_READ_SEARCH (bit 2) alone: it reads a
     * key file whatever its owner, as memcached does before its drop */
    ck_status_has(status, geteuid() == 0 ? "\nCapPrm:\t0000000000000004\n"
                                         : "\nCapPrm:\t0000000000000000\n");
    ck_status_has(status, geteuid() == 0 ? "\nCapEff:\t0000000000000004\n"
                                         : "\nCapEff:\t0000000000000000\n");
    ck_status_has(status, "\nCapAmb:\t0000000000000000\n");
    if (geteuid() == 0) {
        ck_root_confinement(reader_pid(r), status);
    } else {
        printf("SKIP reader bounding set, network namespace and fds: not root (uid %ld)\n",
               (long)geteuid());
        fflush(stdout);
    }
    struct reader_file out[1];                  /* still serves, confined */
    fetch(r, out);
    CK_FILE(&out[0], "x");
    reader_files_free(out, 1);
    stop(&r);
}
END_TEST

/* ---------------------------------------------------------- the filter */

/* Forks a child that loads the reader's filter and runs call; its status.
 * Under the filter the child cannot even write to stderr: exit codes only. */
static int run_filtered(void (*call)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        child_limits();
        char e[256];
        if (!reader_filter_install(e, sizeof e)) {
            fprintf(stderr, "reader_filter_install: %s\n", e);
            _exit(100);
        }
        call();
        _exit(0);
    }
    return wait_exit(pid);
}

static void ck_killed(int status, const char *what)
{
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS,
                  "%s: status %#x, want death by SIGSYS", what, status);
}

static void call_socket(void)
{
    (void)socket(AF_INET, SOCK_STREAM, 0);
}

static void call_open_create(void)
{
    (void)open(at("created"), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
}

static void call_open_truncate(void)
{
    (void)open(at("victim"), O_RDONLY | O_TRUNC | O_CLOEXEC);
}

static void call_open_rdwr(void)
{
    (void)open(at("victim"), O_RDWR | O_CLOEXEC);
}

static void call_write_stdout(void)
{
    (void)!write(STDOUT_FILENO, "x", 1);
}

static void call_execve(void)
{
    char *const argv[] = { "/bin/true", NULL };
    execve(argv[0], argv, argv + 1);
}

static void call_fork(void)
{
    if (fork() == 0) {
        _exit(0);
    }
}

static void call_mmap(void)
{
    (void)mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

static void call_unlink(void)
{
    (void)unlink(at("victim"));
}

static void call_ptrace(void)
{
    (void)ptrace(PTRACE_TRACEME, 0, NULL, NULL);
}

static void call_kill(void)
{
    (void)kill(1, 0);
}

static const struct {
    const char *name;
    void (*call)(void);
} forbidden[] = {
    { "socket", call_socket },
    { "open O_WRONLY|O_CREAT", call_open_create },
    { "open O_RDONLY|O_TRUNC", call_open_truncate },
    { "open O_RDWR", call_open_rdwr },
    { "write to stdout", call_write_stdout },
    { "execve", call_execve },
    { "fork", call_fork },
    { "mmap", call_mmap },
    { "unlink", call_unlink },
    { "ptrace", call_ptrace },
    { "kill", call_kill },
};

START_TEST(test_filter_kills)
{
    PUT("victim", "intact");
    ck_killed(run_filtered(forbidden[_i].call), forbidden[_i].name);
    ck_assert_msg(access(at("created"), F_OK) != 0, "a file was created under the filter");
    int fd = open(at("victim"), O_RDONLY | O_CLOEXEC);
    char buf[16] = "";
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(read(fd, buf, sizeof buf), 6);
    ck_assert_str_eq(buf, "intact");
    close(fd);
}
END_TEST

/* What the reader does under its filter works: open read-only, fstat, read,
 * close, exit. */
static void call_read_file(void)
{
    struct stat st;
    char buf[16] = "";
    int fd = open(at("victim"), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || read(fd, buf, sizeof buf) != 6 ||
        close(fd) != 0 || strcmp(buf, "intact") != 0) {
        _exit(3);
    }
}

START_TEST(test_filter_allows_reading)
{
    PUT("victim", "intact");
    int status = run_filtered(call_read_file);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
}
END_TEST

/* ---------------------------------------------------------------- suite */

static Suite *reader_suite(void)
{
    Suite *s = suite_create("reader");
    TCase *tc = tcase_create("reader");
    tcase_add_checked_fixture(tc, scratch_setup, scratch_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_fetch_several);
    tcase_add_test(tc, test_no_files);
    tcase_add_test(tc, test_reads_another_users_private_file);
    tcase_add_test(tc, test_missing_file);
    tcase_add_test(tc, test_replaced_by_rename);
    tcase_add_test(tc, test_symlink_repointed);
    tcase_add_test(tc, test_not_regular);
    tcase_add_test(tc, test_size_limit);
    tcase_add_test(tc, test_fetch_from_forked_child);
    tcase_add_test(tc, test_exits_when_daemon_closes);
    tcase_add_test(tc, test_dies_with_daemon);
    tcase_add_test(tc, test_fetch_after_reader_died);
    tcase_add_test(tc, test_start_refuses);
    tcase_add_loop_test(tc, test_setup_fails_closed, 0, (int)(sizeof setup_cases / sizeof setup_cases[0]));
    tcase_add_test(tc, test_confined);
    tcase_add_loop_test(tc, test_filter_kills, 0, (int)(sizeof forbidden / sizeof forbidden[0]));
    tcase_add_test(tc, test_filter_allows_reading);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);       /* as the daemon: a dead reader is an error, not a signal */
    SRunner *sr = srunner_create(reader_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
