/* reader.c: the file reader of reader.h -- the forked helper that opens the
 * configured paths for reloads, and the daemon's side of their socket. The
 * helper trusts nothing from the daemon but one request byte; the daemon
 * trusts nothing from the helper but frames it checks against
 * READER_FILE_MAX. Its seccomp filter is reviewed data, policy/reader.policy,
 * compiled by the same scripts/gen_seccomp.sh as the daemon's: a rule without
 * its "# why" fails the build there, not in review, and both filters are
 * read in policy/ (STYLE habit 9). Each set-up step succeeds or the helper
 * tells the daemon which step failed and exits: start-up then fails. */
#include "sec/reader.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sec/seccomp.h"

/* The reader's socket, moved here before its filter: the only descriptor it
 * may write to (policy/reader.policy names it). */
#define READER_SOCK_FD 3
#include "sec/reader_policy.h"

#define READER_ASK 'F'              /* the one request: every file, again */
#define READER_TEXT_MAX 256         /* a set-up failure's message, and ours */
#define READER_NAME "hardcached-rd" /* its name in ps, 15 bytes at most */
#define ERRNO_MAX 4095              /* the kernel's errno values end here */

/* One answer: this header, then len bytes. Both ends are one machine, so
 * host byte order. The first answer says the reader is ready (err 0, no
 * bytes) or why its set-up failed (err, then a message). */
struct frame {
    int32_t err;
    uint32_t len;
};

struct reader {
    int fd;                         /* -1 once gone */
    pid_t pid;
    size_t n;                       /* paths it reads, frames per answer */
    pthread_mutex_t lock;           /* one fetch at a time on the socket */
    char gone[READER_TEXT_MAX];     /* why it stopped serving; "" while it serves */
};

/* ---- plain blocking I/O on the socket (both sides) ------------------------ */

enum io { IO_OK, IO_EOF, IO_ERR };

static enum io read_all(int fd, void *buf, size_t len)
{
    char *p = buf;
    while (len > 0) {
        ssize_t got = read(fd, p, len);
        if (got == 0) {
            return IO_EOF;
        }
        if (got < 0 && errno != EINTR) {
            return IO_ERR;
        }
        if (got > 0) {
            p += got;
            len -= (size_t)got;
        }
    }
    return IO_OK;
}

static bool write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t put = write(fd, p, len);
        if (put < 0 && errno != EINTR) {
            return false;
        }
        if (put > 0) {
            p += put;
            len -= (size_t)put;
        }
    }
    return true;
}

/* ---- the filter ----------------------------------------------------------- */

static const enum scmp_compare op_map[] = {
    [SECCOMP_OP_EQ] = SCMP_CMP_EQ, [SECCOMP_OP_NE] = SCMP_CMP_NE,
    [SECCOMP_OP_LT] = SCMP_CMP_LT, [SECCOMP_OP_LE] = SCMP_CMP_LE,
    [SECCOMP_OP_GT] = SCMP_CMP_GT, [SECCOMP_OP_GE] = SCMP_CMP_GE,
    [SECCOMP_OP_MASKED_EQ] = SCMP_CMP_MASKED_EQ,
};

/* One policy row, exactly as written ($PID and $EXITFILE mean nothing here). */
static int add_row(scmp_filter_ctx ctx, const struct seccomp_rule *r)
{
    struct scmp_arg_cmp cmp[SECCOMP_MAX_CONDS];
    for (unsigned i = 0; i < r->ncond; i++) {
        const struct seccomp_cond *c = &r->cond[i];
        bool masked = c->op == SECCOMP_OP_MASKED_EQ;
        if (c->source != SECCOMP_VALUE_CONST) {
            return -EINVAL;
        }
        cmp[i] = (struct scmp_arg_cmp){
            .arg = c->arg, .op = op_map[c->op],
            .datum_a = masked ? c->mask : c->value, .datum_b = masked ? c->value : 0,
        };
    }
    uint32_t action = r->deny_errno == 0 ? SCMP_ACT_ALLOW : SCMP_ACT_ERRNO((uint32_t)r->deny_errno);
    return seccomp_rule_add_exact_array(ctx, action, r->nr, r->ncond, cmp);
}

static bool add_rows(scmp_filter_ctx ctx, char *err, size_t errlen)
{
    size_t n = sizeof(reader_policy) / sizeof(reader_policy[0]);
    for (size_t i = 0; i < n; i++) {
        const struct seccomp_rule *r = &reader_policy[i];
        int rc = r->nr < 0 ? 0 : add_row(ctx, r);     /* negative: not on this arch */
        if (rc != 0) {
            snprintf(err, errlen, "policy/reader.policy:%d (%s): %s", r->line, r->name, strerror(-rc));
            return false;
        }
    }
    return true;
}

/* SECURITY: the default kills the process; so does another ABI (int 0x80,
 * x32); TSYNC covers every thread of whoever calls this. */
static bool set_attrs(scmp_filter_ctx ctx, char *err, size_t errlen)
{
    int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    rc = rc != 0 ? rc : seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
    rc = rc != 0 ? rc : seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1);
    if (rc != 0) {
        snprintf(err, errlen, "cannot set the reader's filter attributes: %s", strerror(-rc));
    }
    return rc == 0;
}

/* Releasing the context after the load frees only small blocks (a rule
 * database and a BPF program of a few dozen instructions): glibc's free
 * neither unmaps nor trims for those, so no call outside the policy runs. */
bool reader_filter_install(char *err, size_t errlen)
{
    /* SECURITY: no_new_privs first: the filter then needs no capability. */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        snprintf(err, errlen, "cannot set no_new_privs: %s", strerror(errno));
        return false;
    }
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
    if (ctx == NULL) {
        snprintf(err, errlen, "cannot create the reader's filter (kernel or libseccomp too old)");
        return false;
    }
    bool ok = set_attrs(ctx, err, errlen) && add_rows(ctx, err, errlen);
    int rc = ok ? seccomp_load(ctx) : 0;
    if (rc != 0) {
        snprintf(err, errlen, "cannot load the reader's filter: %s", strerror(-rc));
        ok = false;
    }
    seccomp_release(ctx);
    return ok;
}

/* ---- the reader process: set-up ------------------------------------------- */

/* Tells the daemon which step failed (its first and last frame), exits. */
static _Noreturn void child_fail(const char *what, int e)
{
    char msg[READER_TEXT_MAX];
    int n = e != 0 ? snprintf(msg, sizeof msg, "%s: %s", what, strerror(e))
                   : snprintf(msg, sizeof msg, "%s", what);
    struct frame f = { .err = e != 0 ? e : ECANCELED };
    f.len = n < 0 ? 0 : (uint32_t)((size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
    if (write_all(READER_SOCK_FD, &f, sizeof f)) {
        (void)write_all(READER_SOCK_FD, msg, f.len);
    }
    _exit(1);
}

/* SECURITY: nothing of the daemon's stays open here (listening sockets,
 * the pidfile, stdio): only the socket, at READER_SOCK_FD. */
static void child_keep_only_socket(int fd)
{
    if (fd != READER_SOCK_FD && dup2(fd, READER_SOCK_FD) != READER_SOCK_FD) {
        _exit(1);                   /* no socket to report on: the daemon sees EOF */
    }
    if (close_range(0, READER_SOCK_FD - 1, 0) != 0 || close_range(READER_SOCK_FD + 1, ~0u, 0) != 0) {
        child_fail("cannot close the daemon's descriptors (close_range)", errno);
    }
}

/* SECURITY: the reader dies with the daemon (SIGKILL when the thread that
 * forked it ends), and at once if the daemon is already gone. */
static void child_bind_to_parent(pid_t parent)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) {
        child_fail("cannot set PR_SET_PDEATHSIG", errno);
    }
    if (getppid() != parent) {
        _exit(0);
    }
}

/* Every handler goes back to its default, so no signal frame is ever
 * returned from (the filter has no rt_sigreturn). SIGHUP is ignored: a
 * reload sent by name (pkill -HUP hardcached) must not kill the reader. */
static void child_reset_signals(void)
{
    struct sigaction dfl = { .sa_handler = SIG_DFL };
    sigset_t none;
    for (int sig = 1; sig < NSIG; sig++) {
        (void)sigaction(sig, &dfl, NULL);   /* SIGKILL, SIGSTOP, glibc's own: EINVAL */
    }
    signal(SIGHUP, SIG_IGN);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    prctl(PR_SET_NAME, READER_NAME, 0, 0, 0);
}

/* SECURITY: an empty network namespace, so even a socket that got past the
 * filter would reach nothing. Not root, systemd's RestrictNamespaces=
 * (EPERM), no netns in the kernel (EINVAL) or user.max_net_namespaces=0
 * (ENOSPC) leave it where it is: the filter still refuses socket(2). */
static void child_leave_network(void)
{
    if (unshare(CLONE_NEWNET) != 0 && errno != EPERM && errno != EINVAL && errno != ENOSPC) {
        child_fail("cannot leave the network namespace (unshare)", errno);
    }
}

/* SECURITY: no capability left but CAP_DAC_READ_SEARCH, and that only when
 * it was held (started as root): memcached reads its key as root before the
 * drop, so a key owned by the service user with mode 0600 is common, and
 * root without it could not read such a file. It lets the reader read any
 * file, but the reader opens only the paths it was started with, and its
 * filter allows nothing beyond reading them. The bounding set goes first,
 * while CAP_SETPCAP still allows it (without it, EPERM: nothing to drop
 * from). The uid stays. */
static cap_t reader_caps(bool keep_read)
{
    cap_t want = cap_init();
    cap_value_t read_search = CAP_DAC_READ_SEARCH;
    if (want != NULL && keep_read
        && (cap_set_flag(want, CAP_PERMITTED, 1, &read_search, CAP_SET) != 0
            || cap_set_flag(want, CAP_EFFECTIVE, 1, &read_search, CAP_SET) != 0)) {
        cap_free(want);
        return NULL;
    }
    return want;
}

static void child_drop_caps(void)
{
    cap_t before = cap_get_proc();
    cap_flag_value_t held = CAP_CLEAR;
    if (before == NULL || cap_get_flag(before, CAP_DAC_READ_SEARCH, CAP_PERMITTED, &held) != 0) {
        child_fail("cannot read the capabilities", errno);
    }
    for (int c = 0; c < cap_max_bits(); c++) {
        if (c == CAP_DAC_READ_SEARCH && held == CAP_SET) {
            continue;
        }
        if (cap_drop_bound((cap_value_t)c) != 0 && errno != EPERM && errno != EINVAL) {
            child_fail("cannot empty the capability bounding set", errno);
        }
    }
    cap_t want = reader_caps(held == CAP_SET);
    /* already as wanted (started as a user: empty): skip capset, which a
     * service's SystemCallFilter=~@privileged refuses with EPERM */
    bool same = want != NULL && cap_compare(before, want) == 0;
    cap_free(before);
    if (want == NULL || (!same && cap_set_proc(want) != 0)) {
        child_fail("cannot drop capabilities", errno);
    }
    cap_t now = cap_get_proc();     /* trust, then verify */
    if (now == NULL || cap_compare(now, want) != 0) {
        child_fail("capabilities remain after dropping them", errno);
    }
    cap_free(now);
    cap_free(want);
}

/* ---- the reader process: serving ------------------------------------------ */

/* The whole of one open regular file into buf (READER_FILE_MAX + 1 bytes). */
static int read_regular(int fd, char *buf, uint32_t *len)
{
    struct stat st;
    size_t got = 0;
    if (fstat(fd, &st) != 0) {
        return errno;
    }
    if (!S_ISREG(st.st_mode)) {
        return EINVAL;              /* a FIFO would hang, a device never ends */
    }
    if (st.st_size > (off_t)READER_FILE_MAX) {
        return EFBIG;
    }
    for (;;) {
        ssize_t r = read(fd, buf + got, READER_FILE_MAX + 1 - got);
        if (r == 0) {
            break;
        }
        if (r < 0 && errno != EINTR) {
            return errno;
        }
        got += r > 0 ? (size_t)r : 0;
        if (got > READER_FILE_MAX) {
            return EFBIG;           /* it grew while being read */
        }
    }
    *len = (uint32_t)got;
    return 0;
}

/* Opened anew each time and following symlinks: certbot replaces files by
 * rename and re-points symlinks. O_NONBLOCK: opening a FIFO cannot hang. */
static int load(const char *path, char *buf, uint32_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        return errno;
    }
    int e = read_regular(fd, buf, len);
    close(fd);
    return e;
}

static void answer(int e, const char *buf, uint32_t len)
{
    struct frame f = { .err = e, .len = e == 0 ? len : 0 };
    if (!write_all(READER_SOCK_FD, &f, sizeof f) || !write_all(READER_SOCK_FD, buf, f.len)) {
        _exit(1);                   /* the daemon is gone */
    }
}

/* The core loop: one byte in, one frame per path out; EOF ends it. */
static _Noreturn void child_serve(const char *const *paths, size_t n, char *buf)
{
    for (;;) {
        char ask;
        enum io st = read_all(READER_SOCK_FD, &ask, 1);
        if (st != IO_OK || ask != READER_ASK) {
            _exit(st == IO_EOF ? 0 : 1);
        }
        for (size_t i = 0; i < n; i++) {
            uint32_t len = 0;
            int e = load(paths[i], buf, &len);
            answer(e, buf, len);
        }
    }
}

static _Noreturn void child_main(int fd, pid_t parent, const char *const *paths, size_t n)
{
    char err[READER_TEXT_MAX];
    child_keep_only_socket(fd);
    child_bind_to_parent(parent);
    child_reset_signals();
    child_leave_network();
    child_drop_caps();
    /* SECURITY: not dumpable: no core file or ptrace of a process holding key bytes. */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
        child_fail("cannot make the reader undumpable", errno);
    }
    char *buf = malloc((size_t)READER_FILE_MAX + 1);   /* before the filter: it has no mmap */
    if (buf == NULL) {
        child_fail("no memory for the file buffer", ENOMEM);
    }
    if (!reader_filter_install(err, sizeof err)) {
        child_fail(err, 0);
    }
    answer(0, NULL, 0);             /* ready */
    child_serve(paths, n, buf);
}

/* ---- the daemon's side ---------------------------------------------------- */

static bool paths_ok(const char *const *paths, size_t n, char *err, size_t errlen)
{
    if (n > READER_MAX_FILES || (n > 0 && paths == NULL)) {
        snprintf(err, errlen, "the file reader reads at most %d files (%zu asked)", READER_MAX_FILES, n);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (paths[i] == NULL || paths[i][0] == '\0' || strlen(paths[i]) >= PATH_MAX) {
            snprintf(err, errlen, "file reader: path %zu is empty or longer than %d bytes", i, PATH_MAX - 1);
            return false;
        }
    }
    return true;
}

/* Waits for the reader that failed its set-up, saying how it ended. */
static void reap(pid_t pid, char *how, size_t howlen)
{
    int status = 0;
    kill(pid, SIGKILL);             /* if it still runs, it answered nonsense */
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status)) {
        snprintf(how, howlen, "exited during set-up (status %d)", WEXITSTATUS(status));
    } else if (WTERMSIG(status) != SIGKILL) {
        snprintf(how, howlen, "killed by signal %d during set-up%s", WTERMSIG(status),
                 WTERMSIG(status) == SIGSYS ? " (a call its filter refuses)" : "");
    } else {
        snprintf(how, howlen, "answered nonsense during set-up");
    }
}

/* The first frame: ready, or the step that failed. */
static bool await_ready(int fd, pid_t pid, char *err, size_t errlen)
{
    struct frame f;
    char msg[READER_TEXT_MAX] = "", how[80];
    enum io st = read_all(fd, &f, sizeof f);
    if (st == IO_OK && f.err == 0 && f.len == 0) {
        return true;
    }
    bool told = st == IO_OK && f.err != 0 && f.len < sizeof msg && read_all(fd, msg, f.len) == IO_OK;
    reap(pid, how, sizeof how);
    if (told) {
        snprintf(err, errlen, "file reader: %.*s", (int)f.len, msg);
    } else {
        snprintf(err, errlen, "file reader (pid %ld): %s", (long)pid, how);
    }
    return false;
}

static struct reader *reader_new(size_t n, char *err, size_t errlen)
{
    struct reader *r = calloc(1, sizeof(*r));
    if (r != NULL && pthread_mutex_init(&r->lock, NULL) != 0) {
        free(r);
        r = NULL;
    }
    if (r == NULL) {
        snprintf(err, errlen, "file reader: out of memory");
        return NULL;
    }
    r->fd = -1;
    r->n = n;
    return r;
}

/* Forks the reader on sv[1]; keeps sv[0]. False + err. */
static bool spawn(struct reader *r, const char *const *paths, char *err, size_t errlen)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        snprintf(err, errlen, "file reader: cannot create its socket pair: %s", strerror(errno));
        return false;
    }
    pid_t parent = getpid();
    r->pid = fork();
    if (r->pid == 0) {
        child_main(sv[1], parent, paths, r->n);
    }
    int e = errno;
    close(sv[1]);
    if (r->pid < 0) {
        close(sv[0]);
        snprintf(err, errlen, "file reader: cannot fork: %s", strerror(e));
        return false;
    }
    r->fd = sv[0];
    return await_ready(r->fd, r->pid, err, errlen);
}

struct reader *reader_start(const char *const *paths, size_t n, char *err, size_t errlen)
{
    struct reader *r = paths_ok(paths, n, err, errlen) ? reader_new(n, err, errlen) : NULL;
    if (r != NULL && !spawn(r, paths, err, errlen)) {
        reader_destroy(&r);
    }
    return r;
}

/* The reader cannot be trusted any more: say why once, and close our end
 * so it exits. Every later fetch fails with the same message. */
static void reader_gone(struct reader *r, const char *why, int e)
{
    snprintf(r->gone, sizeof r->gone, "the file reader (pid %ld) %s%s%s", (long)r->pid, why,
             e != 0 ? ": " : "", e != 0 ? strerror(e) : "");
    close(r->fd);
    r->fd = -1;
}

static bool receive_failed(struct reader *r, enum io st)
{
    reader_gone(r, st == IO_EOF ? "is gone (its socket closed)" : "cannot be read",
                st == IO_EOF ? 0 : errno);
    return false;
}

/* Reads and drops len bytes: a file we had no memory for. */
static bool skip(struct reader *r, uint32_t len)
{
    char sink[4096];
    while (len > 0) {
        uint32_t part = len < sizeof sink ? len : (uint32_t)sizeof sink;
        enum io st = read_all(r->fd, sink, part);
        if (st != IO_OK) {
            return receive_failed(r, st);
        }
        len -= part;
    }
    return true;
}

/* SECURITY: every length is checked before it sizes anything. */
static bool frame_ok(struct reader *r, const struct frame *f)
{
    if (f->len > READER_FILE_MAX || f->err < 0 || f->err > ERRNO_MAX || (f->err != 0 && f->len != 0)) {
        char why[96];
        snprintf(why, sizeof why, "answered nonsense (status %ld, length %lu)", (long)f->err,
                 (unsigned long)f->len);
        reader_gone(r, why, 0);
        return false;
    }
    return true;
}

static bool receive(struct reader *r, struct reader_file *out)
{
    struct frame f;
    enum io st = read_all(r->fd, &f, sizeof f);
    if (st != IO_OK) {
        return receive_failed(r, st);
    }
    if (!frame_ok(r, &f)) {
        return false;
    }
    out->err = f.err;
    if (f.err != 0) {
        return true;
    }
    out->data = malloc((size_t)f.len + 1);
    if (out->data == NULL) {
        out->err = ENOMEM;
        return skip(r, f.len);
    }
    st = read_all(r->fd, out->data, f.len);
    if (st != IO_OK) {
        return receive_failed(r, st);
    }
    out->data[f.len] = '\0';
    out->len = f.len;
    return true;
}

static bool ask(struct reader *r)
{
    char byte = READER_ASK;
    if (!write_all(r->fd, &byte, 1)) {
        reader_gone(r, "is gone (cannot be asked)", errno);
        return false;
    }
    return true;
}

bool reader_fetch(struct reader *r, struct reader_file out[], char *err, size_t errlen)
{
    if (r == NULL) {
        snprintf(err, errlen, "no file reader");
        return false;
    }
    for (size_t i = 0; i < r->n; i++) {
        out[i] = (struct reader_file){ 0 };
    }
    pthread_mutex_lock(&r->lock);
    bool ok = r->fd >= 0 && ask(r);
    for (size_t i = 0; ok && i < r->n; i++) {
        ok = receive(r, &out[i]);
    }
    if (!ok) {
        reader_files_free(out, r->n);
        snprintf(err, errlen, "%s", r->gone);
    }
    pthread_mutex_unlock(&r->lock);
    return ok;
}

void reader_files_free(struct reader_file files[], size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(files[i].data);
        files[i] = (struct reader_file){ 0 };
    }
}

pid_t reader_pid(const struct reader *r)
{
    return r != NULL ? r->pid : -1;
}

void reader_destroy(struct reader **rp)
{
    if (rp == NULL || *rp == NULL) {
        return;
    }
    struct reader *r = *rp;
    if (r->fd >= 0) {
        close(r->fd);
    }
    pthread_mutex_destroy(&r->lock);
    free(r);
    *rp = NULL;
}
