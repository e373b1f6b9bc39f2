/*
 * test_gate.c - the executor's write gate (oflash_flash_opts.gate) on the
 * simulated STM32F401RE: called once, before the first write over its
 * range, after the main flash the plan writes first; a refusal leaves its
 * range (and the lock bytes after it) unwritten; a range the plan does not
 * write never calls it.  A production station waits there for the ledger
 * to record "writing starts" while the image is programmed.
 */
#include "harness.h"
#include "lib/prog_scenario.h"

#define FLASH_SIZE 0x80000u

static prog_scenario S = {
    .dev = "STM32F401RE",
    .flash_size = FLASH_SIZE,
    .data_len = 0x12000u, /* sectors 0..3 and an eighth of 4 */
    .seed_mult = 0x2468ACE1u,
    .serial_addr = 0x1FFF7800u, /* OTP block 0 */
    .serial = "SN-00000777",
    .lock_base = 0x1FFF7A00u,
    .lock_index = 0,
};

typedef struct gate_ctx {
    oflash_target *t;
    unsigned calls;
    int answer;         /* what the gate returns */
    bool flash_done;    /* the code's last byte was programmed when called */
    bool field_blank;   /* the gated range read 0xFF when called */
    uint32_t addr, len; /* the gated range */
    uint8_t code_last;  /* the image's last code byte */
} gate_ctx;

static int gate(void *ctx)
{
    gate_ctx *g = ctx;
    uint8_t b[32], last = 0;
    oflash_probe *p = oflash_target_probe(g->t);
    g->calls++;
    g->field_blank = g->len <= sizeof b && oflash_probe_read_mem(b, p, g->addr, g->len) == 0;
    for (uint32_t i = 0; g->field_blank && i < g->len; i++)
        g->field_blank = b[i] == 0xFF;
    g->flash_done =
        oflash_probe_read_mem(&last, p, PS_FLASH0 + S.data_len - 1, 1) == 0 && last == g->code_last;
    if (g->answer < 0) return oflash_error_set(g->answer, "the ledger did not answer (test gate)");
    return 0;
}

/* Plan img on chip and execute it with a gate over [addr, addr + len). */
static int run_gated(oflash_flash_stats *st, gate_ctx *g, const char *chip, const oflash_image *img)
{
    oflash_plan *plan = NULL;
    oflash_target_view view;
    oflash_plan_opts po = OFLASH_PLAN_OPTS_INIT;
    oflash_flash_opts fo = OFLASH_FLASH_OPTS_INIT;
    int rc;
    po.allow_otp = true;
    if ((rc = ps_open(&g->t, &S, chip, NULL)) < 0) return rc;
    oflash_target_view_init(&view, g->t);
    fo.verify = OFLASH_VERIFY_CRC;
    fo.gate = gate;
    fo.gate_ctx = g;
    fo.gate_addr = g->addr;
    fo.gate_len = g->len;
    if ((rc = oflash_plan_create(&plan, img, oflash_target_device(g->t), &view, &po)) == 0)
        rc = oflash_flash_execute(st, g->t, plan, &fo);
    oflash_plan_free(plan);
    oflash_target_close(g->t);
    g->t = NULL;
    return rc;
}

static uint8_t last_code_byte(void)
{
    uint8_t *buf = malloc(S.data_len), b;
    ps_pattern(buf, S.data_len, S.seed_mult * 3u); /* image 2 */
    b = buf[S.data_len - 1];
    free(buf);
    return b;
}

/* The serial in OTP: the gate is asked once, after main flash. */
static void test_gate_passes(void)
{
    char chip[300];
    uint8_t *want = malloc(FLASH_SIZE);
    oflash_image *img = ps_image(&S, 2, want);
    oflash_flash_stats st;
    gate_ctx g = {0};
    g.addr = S.serial_addr;
    g.len = (uint32_t)strlen(S.serial);
    g.code_last = last_code_byte();
    ps_path(chip, sizeof chip, &S, "pass.sim");
    CHECK_OK(oflash_sim_create(chip, S.dev, NULL));
    CHECK_OK(run_gated(&st, &g, chip, img));
    CHECK_EQ_U(g.calls, 1);
    CHECK(g.flash_done);  /* the image was programmed while the gate was pending */
    CHECK(g.field_blank); /* nothing of the range before the gate said yes */
    ps_check_contents(&S, chip, want, true);
    /* The same image again writes nothing: the gate is not asked. */
    memset(&g, 0, sizeof g);
    g.addr = S.serial_addr;
    g.len = (uint32_t)strlen(S.serial);
    CHECK_OK(run_gated(&st, &g, chip, img));
    CHECK_EQ_U(g.calls, 0);
    CHECK_EQ_U(st.otp_bytes_programmed, 0);
    oflash_image_free(img);
    free(want);
}

/* The gate refuses: main flash is programmed, the serial and the lock
 * byte are not; the run fails with the gate's code and message. */
static void test_gate_refuses(void)
{
    char chip[300];
    uint8_t otp[16], lock = 0;
    oflash_image *img = ps_image(&S, 2, NULL);
    oflash_flash_stats st;
    oflash_target *t = NULL;
    gate_ctx g = {0};
    g.addr = S.serial_addr;
    g.len = (uint32_t)strlen(S.serial);
    g.answer = OFLASH_ELINK;
    g.code_last = last_code_byte();
    ps_path(chip, sizeof chip, &S, "refused.sim");
    CHECK_OK(oflash_sim_create(chip, S.dev, NULL));
    CHECK_ERR(run_gated(&st, &g, chip, img), OFLASH_ELINK, "the ledger did not answer (test gate)");
    CHECK_EQ_U(g.calls, 1);
    CHECK(g.flash_done);
    CHECK(st.bytes_programmed >= S.data_len);
    CHECK_EQ_U(st.otp_bytes_programmed, 0);
    CHECK_EQ_U(st.otp_blocks_locked, 0);
    CHECK_OK(ps_open(&t, &S, chip, NULL));
    if (t) {
        CHECK_OK(oflash_flash_read(otp, t, S.serial_addr, sizeof otp, NULL, NULL));
        CHECK_OK(oflash_flash_read(&lock, t, S.lock_base + S.lock_index, 1, NULL, NULL));
    }
    oflash_target_close(t);
    for (size_t i = 0; i < sizeof otp; i++)
        CHECK_EQ_U(otp[i], 0xFF);
    CHECK_EQ_U(lock, 0xFF);
    oflash_image_free(img);
}

/* A range the plan does not write (OTP block 5): never asked. */
static void test_gate_elsewhere(void)
{
    char chip[300];
    uint8_t *want = malloc(FLASH_SIZE);
    oflash_image *img = ps_image(&S, 2, want);
    oflash_flash_stats st;
    gate_ctx g = {0};
    g.addr = S.serial_addr + 5 * 32;
    g.len = 8;
    g.answer = OFLASH_ELINK; /* would fail the run if asked */
    ps_path(chip, sizeof chip, &S, "elsewhere.sim");
    CHECK_OK(oflash_sim_create(chip, S.dev, NULL));
    CHECK_OK(run_gated(&st, &g, chip, img));
    CHECK_EQ_U(g.calls, 0);
    ps_check_contents(&S, chip, want, true);
    oflash_image_free(img);
    free(want);
}

/* A range in main flash (sector 2): refused before any byte of it is
 * written. */
static void test_gate_main_flash(void)
{
    char chip[300];
    uint8_t back[16];
    oflash_image *img = ps_image(&S, 1, NULL);
    oflash_flash_stats st;
    oflash_target *t = NULL;
    gate_ctx g = {0};
    g.addr = 0x08008000u;
    g.len = 16;
    g.answer = OFLASH_ETIMEOUT;
    ps_path(chip, sizeof chip, &S, "main.sim");
    CHECK_OK(oflash_sim_create(chip, S.dev, NULL));
    CHECK_ERR(run_gated(&st, &g, chip, img), OFLASH_ETIMEOUT, "test gate");
    CHECK_EQ_U(g.calls, 1);
    CHECK(g.field_blank);
    CHECK_OK(ps_open(&t, &S, chip, NULL));
    if (t) CHECK_OK(oflash_flash_read(back, t, g.addr, sizeof back, NULL, NULL));
    oflash_target_close(t);
    for (size_t i = 0; i < sizeof back; i++)
        CHECK_EQ_U(back[i], 0xFF);
    /* Passing this time: the image is complete. */
    memset(&g, 0, sizeof g);
    g.addr = 0x08008000u;
    g.len = 16;
    CHECK_OK(run_gated(&st, &g, chip, img));
    CHECK_EQ_U(g.calls, 1);
    oflash_image_free(img);
}

int main(void)
{
    if (ps_begin(&S, "oflash-gate") < 0) return 1;
    test_gate_passes();
    test_gate_refuses();
    test_gate_elsewhere();
    test_gate_main_flash();
    ps_end(&S);
    return test_summary();
}
