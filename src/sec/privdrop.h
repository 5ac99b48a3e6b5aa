/* privdrop.h: who the daemon runs as, and the one-way drop to it (SPEC §3,
 * promise 3). Two calls from main(): privdrop_resolve() first of all (looks
 * the user up while every file is still readable), privdrop_apply() after
 * binding and the pidfile and before any thread exists. Both fail closed:
 * false + a one-line err, and the caller ends the process. */
#ifndef HC_SEC_PRIVDROP_H
#define HC_SEC_PRIVDROP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Exit statuses for the caller (memcached's, from sysexits.h). */
#define PRIVDROP_EX_USAGE  64   /* run-as user is root / uid 0 / gid 0 */
#define PRIVDROP_EX_NOUSER 67   /* run-as user does not exist */
#define PRIVDROP_EX_OSERR  71   /* lookup or a privilege step failed */

struct run_as {
    uid_t uid;          /* target uid (non-root start: our effective uid) */
    gid_t gid;          /* target gid (non-root start: our effective gid) */
    char name[64];      /* user name, for messages */
    bool switch_user;   /* true: started as root, setuid to uid/gid */
    int fail_status;    /* set when privdrop_resolve fails: PRIVDROP_EX_* */
    bool refused_root;  /* set when it failed with a usage error (the user
                           is root or group root): fail_status is
                           PRIVDROP_EX_USAGE; otherwise _NOUSER or _OSERR */
};

/* Start-up step 1, before anything else. Started as root (any of the real,
 * effective or saved uid is 0): looks up `user` (NULL or "" = "memcache"),
 * refuses a missing user (PRIVDROP_EX_NOUSER) and one with uid 0 or primary
 * gid 0 (PRIVDROP_EX_USAGE). Started as another user: keeps it
 * (switch_user = false), refuses to run with group root, and refuses a
 * `user` that names uid 0 ("-u root" is refused everywhere). On failure:
 * false, a one-line err, and out->fail_status is the exit status to use. */
bool privdrop_resolve(const char *user, struct run_as *out, char *err, size_t errlen);

/* After binding and writing the pidfile, before starting any thread (it
 * refuses to run in a multi-threaded process: capabilities, the bounding
 * set and no_new_privs are per thread). Switches to ra's uid/gid with no
 * supplementary groups, empties every capability set (effective, permitted,
 * inheritable, ambient, bounding), sets no_new_privs and dumpable =
 * enable_coredumps, then verifies all of it (setuid(0) and setgid(0) must
 * fail). False + a one-line err naming the step: exit PRIVDROP_EX_OSERR. */
bool privdrop_apply(const struct run_as *ra, bool enable_coredumps, char *err, size_t errlen);

#endif
