/* test_regress_fuzz.c: every input a fuzzer ever crashed on (committed under
 * tests/fuzz/regress/<target>/) replayed through the same entry point the
 * fuzzer used: the fuzz targets are compiled in here with their
 * LLVMFuzzerTestOneInput renamed, and a violated invariant fails the check
 * instead of aborting. Under `make test` this runs twice: plain, and in the
 * ASan+UBSan build, where a memory error in a replay fails the run as it did
 * under libFuzzer. A new crash input needs no code here: drop the file in. */
#include <check.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_FAIL() ck_abort_msg("fuzz invariant violated (the reason is on stderr)")

#define LLVMFuzzerTestOneInput fuzz_proto_entry
#include "../fuzz/fuzz_proto.c"
#undef LLVMFuzzerTestOneInput

#define LLVMFuzzerTestOneInput fuzz_cli_entry
#include "../fuzz/fuzz_cli.c"
#undef LLVMFuzzerTestOneInput

#define LLVMFuzzerTestOneInput fuzz_allowlist_entry
#include "../fuzz/fuzz_allowlist.c"
#undef LLVMFuzzerTestOneInput

#define LLVMFuzzerTestOneInput fuzz_config_entry
#include "../fuzz/fuzz_config.c"
#undef LLVMFuzzerTestOneInput

#define LLVMFuzzerTestOneInput fuzz_auth_entry
#include "../fuzz/fuzz_auth.c"
#undef LLVMFuzzerTestOneInput

#define LLVMFuzzerTestOneInput fuzz_binary_entry
#include "../fuzz/fuzz_binary.c"
#undef LLVMFuzzerTestOneInput

typedef int fuzz_entry_fn(const uint8_t *data, size_t size);

static const struct regress_target {
    const char *name;
    fuzz_entry_fn *entry;
} regress_targets[] = {
    { "proto", fuzz_proto_entry },
    { "cli", fuzz_cli_entry },
    { "allowlist", fuzz_allowlist_entry },
    { "config", fuzz_config_entry },
    { "auth", fuzz_auth_entry },
    { "binary", fuzz_binary_entry },
};

/* tests/fuzz/regress, found from this file's path (make runs from the
 * repository root) unless HC_FUZZ_REGRESS names it. */
static void regress_dir(const char *target, char *buf, size_t len)
{
    const char *env = getenv("HC_FUZZ_REGRESS");
    if (env != NULL) {
        snprintf(buf, len, "%s/%s", env, target);
        return;
    }
    const char *slash = strrchr(__FILE__, '/');
    int dirlen = slash ? (int)(slash - __FILE__) : 0;
    snprintf(buf, len, "%.*s%s../fuzz/regress/%s", dirlen, __FILE__, slash ? "/" : "",
             target);
}

static uint8_t *read_input(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    uint8_t *data = NULL;
    long n;
    ck_assert_msg(f != NULL, "cannot open %s", path);
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        data = malloc((size_t)n + 1);   /* +1: a zero-length input is fine */
        ck_assert_ptr_nonnull(data);
        ck_assert_msg(fread(data, 1, (size_t)n, f) == (size_t)n, "cannot read %s", path);
        *size = (size_t)n;
    }
    fclose(f);
    ck_assert_msg(data != NULL, "cannot size %s", path);
    return data;
}

START_TEST(crash_inputs_replay_cleanly)
{
    const struct regress_target *t = &regress_targets[_i];
    char dir[1024], path[2048];
    struct dirent *de;
    unsigned replayed = 0;
    regress_dir(t->name, dir, sizeof dir);
    DIR *d = opendir(dir);
    if (d == NULL) {
        return;                          /* no crash input for this target */
    }
    while ((de = readdir(d)) != NULL) {
        size_t size = 0;
        if (de->d_name[0] == '.') {
            continue;
        }
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        uint8_t *data = read_input(path, &size);
        fprintf(stderr, "replaying %s\n", path);
        ck_assert_int_eq(t->entry(data, size), 0);
        free(data);
        replayed++;
    }
    closedir(d);
    fprintf(stderr, "%s: %u crash inputs replayed\n", t->name, replayed);
}
END_TEST

static Suite *regress_suite(void)
{
    Suite *s = suite_create("regress_fuzz");
    TCase *tc = tcase_create("replay");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, crash_inputs_replay_cleanly, 0,
                        (int)(sizeof regress_targets / sizeof regress_targets[0]));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(regress_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
