/*
 * serial_baud.c - any serial line speed on Linux (termios2 with BOTHER),
 * for rates that have no Bnnn constant.  Kept apart from rsp.c because
 * <asm/termbits.h> cannot be included together with <termios.h>.
 */
#include "gdb/rsp.h"

#if defined(__linux__)
#include <asm/termbits.h>
#include <sys/ioctl.h>

int oflash__serial_set_any_baud(int fd, unsigned baud)
{
    struct termios2 t;
    if (ioctl(fd, TCGETS2, &t) != 0) return -1;
    t.c_cflag &= ~(tcflag_t)CBAUD;
    t.c_cflag |= BOTHER;
    t.c_ispeed = baud;
    t.c_ospeed = baud;
    return ioctl(fd, TCSETS2, &t);
}
#else
int oflash__serial_set_any_baud(int fd, unsigned baud)
{
    (void)fd;
    (void)baud;
    return -1;
}
#endif
