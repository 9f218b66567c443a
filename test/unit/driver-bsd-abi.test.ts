// Request codes, sizes, constants and errno words of drivers/bsd/abi.ts against
// shared/facts/ioctl.md (sections 1, 2, 5, 8). The expected hex below is copied from the facts
// tables, not computed: a wrong struct size or number shows up as the exact code that differs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  BSD_ABIS,
  CONSTANTS,
  LIBC_SYMBOLS,
  REQUESTS,
  abiForArch,
  bsdErrnoName,
  ioc,
  iocParamLength,
  iow,
  iowr,
  linkStateCarrier,
  requestCode,
  structSize,
  type BsdAbi,
  type BsdOs,
  type RequestName,
} from '../../drivers/bsd/abi.ts';

const hex = (n: number | null) => (n === null ? 'none' : `0x${n.toString(16).toUpperCase().padStart(8, '0')}`);

// [name, lp64, i386, arm32] straight from facts/ioctl.md 2.1-2.3 ("same" expanded).
type Row = [RequestName, string, string, string];
const FACTS: Record<BsdOs, Row[]> = {
  netbsd: [
    ['SIOCALIFADDR', '0x8118691C', '0x8118691C', '0x8118691C'],
    ['SIOCGLIFADDR', '0xC118691D', '0xC118691D', '0xC118691D'],
    ['SIOCDLIFADDR', '0x8118691E', '0x8118691E', '0x8118691E'],
    ['SIOCSIFFLAGS', '0x80906910', '0x80906910', '0x80906910'],
    ['SIOCGIFFLAGS', '0xC0906911', '0xC0906911', '0xC0906911'],
    ['SIOCAIFADDR', '0x8040691A', '0x8040691A', '0x8040691A'],
    ['SIOCDIFADDR', '0x80906919', '0x80906919', '0x80906919'],
    ['SIOCAIFADDR_IN6', '0x8080696B', '0x8080696B', '0x8080696B'],
    ['SIOCDIFADDR_IN6', '0x81206919', '0x81206919', '0x81206919'],
    ['SIOCGIFMTU', '0xC090697E', '0xC090697E', '0xC090697E'],
    ['SIOCSIFMTU', '0x8090697F', '0x8090697F', '0x8090697F'],
    ['SIOCGIFINDEX', '0xC090698C', '0xC090698C', '0xC090698C'],
    ['SIOCADDMULTI', '0x80906931', '0x80906931', '0x80906931'],
    ['SIOCDELMULTI', '0x80906932', '0x80906932', '0x80906932'],
    ['SIOCGIFMEDIA', '0xC0306938', '0xC0286938', '0xC0286938'],
    ['SIOCGIFDATA', '0xC0986985', '0xC0946985', '0xC0986985'],
  ],
  freebsd: [
    ['SIOCSIFLLADDR', '0x8020693C', '0x8020693C', '0x8020693C'],
    ['SIOCGHWADDR', '0xC020693E', '0xC020693E', '0xC020693E'],
    ['SIOCSIFFLAGS', '0x80206910', '0x80206910', '0x80206910'],
    ['SIOCGIFFLAGS', '0xC0206911', '0xC0206911', '0xC0206911'],
    ['SIOCAIFADDR', '0x8044692B', '0x8044692B', '0x8044692B'],
    ['OSIOCAIFADDR', '0x8040691A', '0x8040691A', '0x8040691A'],
    ['SIOCDIFADDR', '0x80206919', '0x80206919', '0x80206919'],
    ['SIOCAIFADDR_IN6', '0x8088691B', '0x807C691B', '0x8088691B'],
    ['SIOCDIFADDR_IN6', '0x81206919', '0x81206919', '0x81206919'],
    ['SIOCGIFMTU', '0xC0206933', '0xC0206933', '0xC0206933'],
    ['SIOCSIFMTU', '0x80206934', '0x80206934', '0x80206934'],
    ['SIOCGIFINDEX', '0xC0206920', '0xC0206920', '0xC0206920'],
    ['SIOCADDMULTI', '0x80206931', '0x80206931', '0x80206931'],
    ['SIOCDELMULTI', '0x80206932', '0x80206932', '0x80206932'],
    ['SIOCGIFMEDIA', '0xC0306938', '0xC0286938', '0xC0286938'],
    ['SIOCGIFDATA', '0x8020692C', '0x8020692C', '0x8020692C'],
  ],
  openbsd: [
    ['SIOCSIFLLADDR', '0x8020691F', '0x8020691F', '0x8020691F'],
    ['SIOCSIFFLAGS', '0x80206910', '0x80206910', '0x80206910'],
    ['SIOCGIFFLAGS', '0xC0206911', '0xC0206911', '0xC0206911'],
    ['SIOCAIFADDR', '0x8040691A', '0x8040691A', '0x8040691A'],
    ['SIOCDIFADDR', '0x80206919', '0x80206919', '0x80206919'],
    ['SIOCAIFADDR_IN6', '0x8080691A', '0x8080691A', '0x8080691A'],
    ['SIOCDIFADDR_IN6', '0x81206919', '0x81206919', '0x81206919'],
    ['SIOCGIFMTU', '0xC020697E', '0xC020697E', '0xC020697E'],
    ['SIOCADDMULTI', '0x80206931', '0x80206931', '0x80206931'],
    ['SIOCDELMULTI', '0x80206932', '0x80206932', '0x80206932'],
    ['SIOCGIFMEDIA', '0xC0406938', '0xC0386938', '0xC0386938'],
    ['SIOCGIFDATA', '0xC020691B', '0xC020691B', '0xC020691B'],
  ],
};

for (const os of Object.keys(FACTS) as BsdOs[]) {
  BSD_ABIS.forEach((abi, col) => {
    test(`every ${os} request code on ${abi} equals the facts table`, () => {
      for (const row of FACTS[os]) assert.is(hex(requestCode(os, abi, row[0])), row[col + 1], `${os} ${abi} ${row[0]}`);
    });
  });
  test(`${os}: the table defines no request the facts do not list`, () => {
    const listed = new Set(FACTS[os].map((r) => r[0]));
    assert.equal(
      Object.keys(REQUESTS[os]).filter((n) => !listed.has(n as RequestName)),
      [],
    );
  });
}

test('NetBSD has no SIOCSIFLLADDR; FreeBSD and OpenBSD have no SIOC*LIFADDR (facts 2.1, 6)', () => {
  for (const abi of BSD_ABIS) {
    assert.is(requestCode('netbsd', abi, 'SIOCSIFLLADDR'), null);
    assert.is(requestCode('freebsd', abi, 'SIOCALIFADDR'), null);
    assert.is(requestCode('openbsd', abi, 'SIOCALIFADDR'), null);
  }
});

test('the encoder follows ioccom.h: dir | (size & 0x1fff) << 16 | group << 8 | num (facts 1)', () => {
  assert.is(hex(iow('i', 28, 280)), '0x8118691C');
  assert.is(hex(iowr('i', 29, 280)), '0xC118691D');
  assert.is(hex(ioc(0x20000000, 'i', 1, 0)), '0x20006901');
  assert.is(hex(iow('i', 1, 0x2000 + 4)), '0x80046901', 'size masked to 13 bits');
  assert.is(iocParamLength(0x8118691c), 280);
});

test('codes >= 0x80000000 are positive numbers, never sign-extended int32', () => {
  for (const os of Object.keys(FACTS) as BsdOs[])
    for (const abi of BSD_ABIS) {
      for (const [name] of FACTS[os]) {
        const c = requestCode(os, abi, name)!;
        assert.ok(c > 0 && c <= 0xffffffff && Number.isInteger(c), `${os} ${abi} ${name} = ${c}`);
      }
    }
  assert.is(requestCode('netbsd', 'lp64', 'SIOCALIFADDR'), 2165860636);
});

test('struct sizes per ABI match facts 3 (ifreq 144/32, if_laddrreq 280, in6_aliasreq 128/136/124)', () => {
  const cases: [BsdOs, BsdAbi, Parameters<typeof structSize>[2], number][] = [
    ['netbsd', 'lp64', 'ifreq', 144],
    ['netbsd', 'i386', 'ifreq', 144],
    ['netbsd', 'arm32', 'ifreq', 144],
    ['netbsd', 'lp64', 'if_laddrreq', 280],
    ['netbsd', 'i386', 'if_laddrreq', 280],
    ['netbsd', 'arm32', 'in6_aliasreq', 128],
    ['netbsd', 'i386', 'ifaliasreq', 64],
    ['netbsd', 'lp64', 'in6_ifreq', 288],
    ['netbsd', 'lp64', 'if_msghdr', 152],
    ['netbsd', 'i386', 'if_msghdr', 152],
    ['freebsd', 'lp64', 'ifreq', 32],
    ['freebsd', 'lp64', 'ifaliasreq', 68],
    ['freebsd', 'lp64', 'in6_aliasreq', 136],
    ['freebsd', 'i386', 'in6_aliasreq', 124],
    ['freebsd', 'arm32', 'in6_aliasreq', 136],
    ['freebsd', 'i386', 'if_msghdr', 168],
    ['openbsd', 'i386', 'ifreq', 32],
    ['openbsd', 'lp64', 'in6_aliasreq', 128],
    ['openbsd', 'lp64', 'if_msghdr', 168],
    ['openbsd', 'i386', 'if_msghdr', 160],
    ['openbsd', 'arm32', 'if_msghdr', 168],
  ];
  for (const [os, abi, s, n] of cases) assert.is(structSize(os, abi, s), n, `${os} ${abi} ${s}`);
  assert.is(structSize('openbsd', 'lp64', 'if_laddrreq'), null);
});

test('per-OS constants: AF_INET6 24/28/24, PF_ROUTE 34/17/17, AF_LINK 18, IFLR_ACTIVE, NODAD (facts 3, 5, 8)', () => {
  assert.equal([CONSTANTS.netbsd.AF_INET6, CONSTANTS.freebsd.AF_INET6, CONSTANTS.openbsd.AF_INET6], [24, 28, 24]);
  assert.equal([CONSTANTS.netbsd.AF_ROUTE, CONSTANTS.freebsd.AF_ROUTE, CONSTANTS.openbsd.AF_ROUTE], [34, 17, 17]);
  for (const os of ['netbsd', 'freebsd', 'openbsd'] as const) assert.is(CONSTANTS[os].AF_LINK, 18);
  assert.is(CONSTANTS.netbsd.IFLR_ACTIVE, 0x4000);
  assert.is(CONSTANTS.netbsd.IN6_IFF_NODAD, 0x20);
  assert.is(CONSTANTS.openbsd.IN6_IFF_NODAD, 0, 'OpenBSD in6_var.h rev 1.81 has no IN6_IFF_NODAD');
  assert.equal(
    [
      CONSTANTS.netbsd.RTM_VERSION,
      CONSTANTS.netbsd.RTM_IFINFO,
      CONSTANTS.netbsd.RTM_NEWADDR,
      CONSTANTS.netbsd.RTM_DELADDR,
    ],
    [4, 0x14, 0x16, 0x17],
  );
});

test('NetBSD calls socket() by its real name __socket30; the others by socket (facts 8)', () => {
  assert.is(LIBC_SYMBOLS.netbsd.socket, '__socket30');
  assert.is(LIBC_SYMBOLS.freebsd.socket, 'socket');
  assert.is(LIBC_SYMBOLS.openbsd.socket, 'socket');
});

test('link state: UP or UNKNOWN is carrier; OpenBSD counts from 4 (facts 3.3, 5)', () => {
  assert.equal(
    [0, 1, 2].map((s) => linkStateCarrier('netbsd', s)),
    [true, false, true],
  );
  assert.equal(
    [0, 1, 2].map((s) => linkStateCarrier('freebsd', s)),
    [true, false, true],
  );
  assert.equal(
    [0, 1, 2, 3, 4, 5, 6].map((s) => linkStateCarrier('openbsd', s)),
    [true, false, false, false, true, true, true],
  );
});

test('BSD errno numbers in words differ from Linux: EBUSY 16, EADDRNOTAVAIL 49, ENOTSUP per OS', () => {
  assert.is(bsdErrnoName('netbsd', 16), 'EBUSY');
  assert.is(bsdErrnoName('netbsd', 49), 'EADDRNOTAVAIL'); // 99 on Linux
  assert.is(bsdErrnoName('freebsd', 48), 'EADDRINUSE'); // 98 on Linux
  assert.is(bsdErrnoName('openbsd', 35), 'EAGAIN'); // 11 on Linux
  assert.is(bsdErrnoName('netbsd', 86), 'ENOTSUP');
  assert.is(bsdErrnoName('openbsd', 91), 'ENOTSUP');
  assert.is(bsdErrnoName('freebsd', 86), 'E#86');
});

test('process.arch maps to an ABI table', () => {
  assert.equal(['x64', 'arm64', 'ia32', 'arm', 'riscv64'].map(abiForArch), ['lp64', 'lp64', 'i386', 'arm32', null]);
});

test.run();
