/* test_sim_feed.c - the sim-feed:DIR probe: a fresh board per open, the
 * same board again until its unit passes, seeded UIDs, one port per feed,
 * boards set aside after their retries, and injected power losses. */
#include "harness.h"
#include "oflash/flash.h"
#include "oflash/probe.h"
#include "oflash/sim.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[512];

static void uid_of(uint8_t uid[12], oflash_probe *p)
{
    memset(uid, 0, 12);
    CHECK_OK(oflash_probe_read_mem(uid, p, 0x1FFF7A10, 12));
}

/* Open the feed, note its board and UID, report, close. */
static void place(const char *spec, char board[64], uint8_t uid[12], int result)
{
    oflash_probe *p = NULL;
    board[0] = '\0';
    CHECK_OK(oflash_probe_open(&p, spec, NULL));
    if (!p) return;
    CHECK(strcmp(oflash_probe_backend(p), "sim-feed") == 0);
    snprintf(board, 64, "%s", oflash_sim_feed_board(p));
    uid_of(uid, p);
    if (result >= 0) CHECK_OK(oflash_sim_feed_result(p, result == 1));
    oflash_probe_close(p);
}

static void test_boards(void)
{
    char spec[700], spec2[700], b1[64], b2[64], b3[64];
    uint8_t u1[12], u2[12], u3[12], buf[32], ff[32];
    oflash_probe *p = NULL, *q = NULL;
    memset(ff, 0xFF, sizeof ff);

    snprintf(spec, sizeof spec, "sim-feed:%s/feed1?device=STM32F401RE&seed=7", dir);
    /* A fresh board: erased flash and OTP. */
    CHECK_OK(oflash_probe_open(&p, spec, NULL));
    CHECK(strcmp(oflash_sim_feed_board(p), "chip-000001.sim") == 0);
    CHECK_OK(oflash_probe_read_mem(buf, p, 0x08000000, 32));
    CHECK(memcmp(buf, ff, 32) == 0);
    CHECK_OK(oflash_probe_read_mem(buf, p, 0x1FFF7800, 32));
    CHECK(memcmp(buf, ff, 32) == 0);
    CHECK(strcmp(oflash_probe_part(p), "STM32F401xE") == 0);
    /* One port per feed: a second open of the folder is refused at once. */
    CHECK_ERR(oflash_probe_open(&q, spec, NULL), OFLASH_ELINK, "in use by another port");
    uid_of(u1, p);
    oflash_probe_close(p);

    /* Not reported as passed: the same board comes back. */
    place(spec, b2, u2, -1);
    CHECK(strcmp(b2, "chip-000001.sim") == 0);
    CHECK(memcmp(u1, u2, 12) == 0);
    place(spec, b2, u2, 0); /* failed: again */
    CHECK(strcmp(b2, "chip-000001.sim") == 0);
    place(spec, b2, u2, 1); /* passed: taken off */
    CHECK(memcmp(u1, u2, 12) == 0);
    place(spec, b3, u3, 1);
    CHECK(strcmp(b3, "chip-000002.sim") == 0);
    CHECK(memcmp(u1, u3, 12) != 0);

    /* Same seed, other folder: other UIDs; same folder again: same UIDs. */
    snprintf(spec2, sizeof spec2, "sim-feed:%s/feed2?device=STM32F401RE&seed=7", dir);
    place(spec2, b1, u2, 1);
    CHECK(strcmp(b1, "chip-000001.sim") == 0);
    CHECK(memcmp(u1, u2, 12) != 0);
    char cmd[800];
    snprintf(cmd, sizeof cmd, "rm -rf '%s/feed1'", dir);
    CHECK(system(cmd) == 0);
    place(spec, b1, u2, 1);
    CHECK(memcmp(u1, u2, 12) == 0);
    /* Without a seed: random UIDs. */
    snprintf(spec2, sizeof spec2, "sim-feed:%s/feed3?device=STM32F401RE", dir);
    place(spec2, b1, u2, 1);
    place(spec2, b1, u3, 1);
    CHECK(strcmp(b1, "chip-000002.sim") == 0);
    CHECK(memcmp(u2, u3, 12) != 0);

    /* The device may also come from the probe options. */
    snprintf(spec2, sizeof spec2, "sim-feed:%s/feed4", dir);
    oflash_probe_opts po = OFLASH_PROBE_OPTS_INIT;
    CHECK_ERR(oflash_probe_open(&p, spec2, &po), OFLASH_EINVAL, "a new board needs its part");
    po.device = "STM32F411RE";
    CHECK_OK(oflash_probe_open(&p, spec2, &po));
    if (p) {
        CHECK(strcmp(oflash_probe_part(p), "STM32F411xE") == 0);
        oflash_probe_close(p);
    }
    /* Bad options. */
    snprintf(spec2, sizeof spec2, "sim-feed:%s/feed5?power-loss=2", dir);
    CHECK_ERR(oflash_probe_open(&p, spec2, NULL), OFLASH_EINVAL,
              "expected a probability from 0 to 1");
    snprintf(spec2, sizeof spec2, "sim-feed:%s/feed5?colour=red", dir);
    CHECK_ERR(oflash_probe_open(&p, spec2, NULL), OFLASH_EINVAL, "bad option 'colour=red'");
    snprintf(spec2, sizeof spec2, "sim-feed:%s/feed5?cpu=fast", dir);
    CHECK_ERR(oflash_probe_open(&p, spec2, NULL), OFLASH_EINVAL, "cpu=spare|shared");
    CHECK_ERR(oflash_probe_open(&p, "sim-feed:", NULL), OFLASH_EINVAL, "expected sim-feed:DIR");
    /* sim: stats work on a feed's board too. */
    CHECK_OK(oflash_probe_open(&p, spec, NULL));
    oflash_sim_run_stats rs;
    CHECK_OK(oflash_sim_probe_stats(&rs, p));
    CHECK_ERR(oflash_sim_feed_result(NULL, true), OFLASH_EINVAL, "not a sim-feed: probe");
    oflash_probe_close(p);
}

static void test_retries(void)
{
    char spec[700], b[64], path[800], line[200] = "";
    uint8_t u[12];
    snprintf(spec, sizeof spec, "sim-feed:%s/retry?device=STM32F401RE&seed=1&retries=1", dir);
    place(spec, b, u, 0);
    CHECK(strcmp(b, "chip-000001.sim") == 0);
    place(spec, b, u, 0); /* the one retry */
    CHECK(strcmp(b, "chip-000001.sim") == 0);
    place(spec, b, u, 0); /* failed twice: set aside, a new board */
    CHECK(strcmp(b, "chip-000002.sim") == 0);
    snprintf(path, sizeof path, "%s/retry/set-aside.txt", dir);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    if (f) {
        CHECK(fgets(line, sizeof line, f) != NULL);
        fclose(f);
    }
    CHECK(strstr(line, "chip-000001.sim: placed 2 times without passing") != NULL);
}

/* power-loss=1: every placement arms the simulator's power loss; the board
 * loses power within its first flash operations, and comes back. */
static void test_power_loss(void)
{
    char spec[700], spec0[700], path[800];
    oflash_target *t = NULL;
    oflash_target_opts to = OFLASH_TARGET_OPTS_INIT;
    oflash_sim_info *info = malloc(sizeof *info);
    size_t erased = 0;
    unsigned sector = 1;

    snprintf(spec, sizeof spec,
             "sim-feed:%s/pl?device=STM32F401RE&seed=3&power-loss=1&power-loss-ops=1", dir);
    snprintf(spec0, sizeof spec0, "sim-feed:%s/pl?device=STM32F401RE&seed=3", dir);
    to.probe = spec;
    CHECK_OK(oflash_target_open(&t, &to));
    snprintf(path, sizeof path, "%s/pl/chip-000001.sim", dir);
    if (t) {
        int rc = oflash_flash_erase(&erased, t, &sector, 1, false, NULL, NULL);
        CHECK(rc == OFLASH_ELINK);
        CHECK(strstr(oflash_error_last(), "power lost") != NULL);
        oflash_target_close(t);
        t = NULL;
    }
    /* Same board again, no fault this time: the erase completes. */
    to.probe = spec0;
    CHECK_OK(oflash_target_open(&t, &to));
    if (t) {
        CHECK(strcmp(oflash_sim_feed_board(oflash_target_probe(t)), "chip-000001.sim") == 0);
        CHECK_OK(oflash_flash_erase(&erased, t, &sector, 1, false, NULL, NULL));
        CHECK_OK(oflash_sim_feed_result(oflash_target_probe(t), true));
        oflash_target_close(t);
    }
    /* power-loss=0.5 over 40 placements: some armed, some not. */
    snprintf(spec, sizeof spec, "sim-feed:%s/pl2?device=STM32F401RE&seed=11&power-loss=0.5", dir);
    int armed = 0;
    for (int i = 0; i < 40; i++) {
        oflash_probe *p = NULL;
        CHECK_OK(oflash_probe_open(&p, spec, NULL));
        if (!p) break;
        snprintf(path, sizeof path, "%s/pl2/%s", dir, oflash_sim_feed_board(p));
        CHECK_OK(oflash_sim_feed_result(p, true));
        oflash_probe_close(p);
        CHECK_OK(oflash_sim_info_read(info, path));
        if (info->faults.power_loss) {
            armed++;
            CHECK(info->faults.power_loss_after < 2000);
        }
    }
    CHECK(armed > 5 && armed < 35);
    free(info);
}

int main(void)
{
    char cwd[256], rel[32] = "feedXXXXXX";
    if (!getcwd(cwd, sizeof cwd) || !mkdtemp(rel)) return 2;
    snprintf(dir, sizeof dir, "%s/%s", cwd, rel);
    test_boards();
    test_retries();
    test_power_loss();
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return test_summary();
}
