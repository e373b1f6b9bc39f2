#!/usr/bin/env python3
"""Writes seed server streams for fuzz_gdb_reply (fuzz/corpus/gdb_reply/).
Each seed is what a server would send to the client's request sequence."""
import os

def pkt(s):
    b = s.encode('latin1') if isinstance(s, str) else s
    return b'$' + b + b'#%02x' % (sum(b) & 0xff)

TDESC = ('<?xml version="1.0"?><target><feature name="org.gnu.gdb.arm.m-profile">'
         + ''.join('<reg name="r%d" bitsize="32"/>' % i for i in range(13))
         + '<reg name="sp" bitsize="32"/><reg name="lr" bitsize="32"/><reg name="pc" bitsize="32"/>'
         '<reg name="xpsr" bitsize="32" regnum="25"/></feature></target>')
MMAP = ('<memory-map><memory type="ram" start="0x20000000" length="0x20000"/>'
        '<memory type="flash" start="0x08000000" length="0x10000"><property name="blocksize">0x4000'
        '</property></memory></memory-map>')

def esc(s):
    out = b''
    for c in s.encode():
        if c in b'#$}*':
            out += b'}' + bytes([c ^ 0x20])
        else:
            out += bytes([c])
    return out

def qemu_like():
    s = b'+' + pkt('PacketSize=1000;qXfer:features:read+;vContSupported+;multiprocess+')
    s += b'+' + pkt('T05thread:p01.01;')
    s += b'+' + pkt(b'l' + esc(TDESC))
    s += b'+' + pkt('00' * 600)            # m
    s += b'+' + pkt('')                    # X probe: unsupported
    s += b'+' + pkt('OK') + b'+' + pkt('OK')  # M chunks
    for v in range(3):
        s += b'+' + pkt('%08x' % v)        # p
    return s

def openocd_like():
    s = b'+' + pkt('PacketSize=3fff;qXfer:memory-map:read+;qXfer:features:read+;QStartNoAckMode+')
    s += b'+' + pkt('OK')
    s += pkt('S05')
    s += pkt(b'l' + esc(TDESC))
    s += pkt(b'l' + esc(MMAP))
    s += pkt('1* ' * 100)                  # RLE m reply
    s += pkt(b'O' + b'68656c6c6f0a') + pkt('0' * 1200)
    s += pkt('OK') + pkt('OK')             # X probe + X
    s += pkt('E14')
    return s

def stops():
    s = pkt('PacketSize=400;QStartNoAckMode+') + pkt('OK') + pkt('W00')
    return s

def hostile():
    s = pkt('PacketSize=ffffffff;QStartNoAckMode+') + b'+' + pkt('OK') + b'$}#00' + pkt('0*\x7e' * 50)
    return s

d = os.path.join(os.path.dirname(__file__), 'corpus', 'gdb_reply')
os.makedirs(d, exist_ok=True)
for name, f in [('qemu', qemu_like), ('openocd', openocd_like), ('exit', stops), ('hostile', hostile)]:
    open(os.path.join(d, name), 'wb').write(f())
