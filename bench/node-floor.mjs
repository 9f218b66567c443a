// The floor of a Node.js daemon on this host: what a process that does nothing but send one small
// datagram per advert interval costs, measured by the bench beside tandem and keepalived (issue
// #15). tandem cannot cost less than the variant that matches its shape.
// usage: node [flags] bench/node-floor.mjs VARIANT INTERVAL_MS
//   idle          a timer per interval that does nothing, main thread
//   main-koffi    the timer sends 46 bytes through libc sendto (koffi), main thread
//   worker-koffi  the same in a worker thread, the main thread idle (tandem's shape: the engine
//                 runs in a worker)
// The datagram goes to 127.0.0.1:9 (discard); nothing listens, the kernel drops it.
import { Worker, isMainThread, workerData } from 'node:worker_threads';
import koffi from 'koffi';

const [variant, intervalArg] = isMainThread ? process.argv.slice(2) : workerData;
const intervalMs = Number(intervalArg ?? 100);

function sender() {
  const libc = koffi.load('libc.so.6');
  const socket = libc.func('int socket(int domain, int type, int protocol)');
  const sendto = libc.func('intptr_t sendto(int fd, void *buf, size_t len, int flags, void *addr, uint32_t alen)');
  const fd = socket(2 /* AF_INET */, 2 /* SOCK_DGRAM */, 0);
  if (fd < 0) throw new Error(`socket: errno ${koffi.errno()}`);
  const to = Buffer.alloc(16); // struct sockaddr_in
  to.writeUInt16LE(2, 0);
  to.writeUInt16BE(9, 2);
  to.set([127, 0, 0, 1], 4);
  const frame = Buffer.alloc(46); // the size of a VRRPv3 advert frame with one IPv4 address
  setInterval(() => sendto(fd, frame, frame.length, 0, to, to.length), intervalMs);
}

if (!isMainThread) sender();
else if (variant === 'idle') setInterval(() => {}, intervalMs);
else if (variant === 'main-koffi') sender();
else if (variant === 'worker-koffi') new Worker(new URL(import.meta.url), { workerData: [variant, intervalMs] });
else {
  console.error(`node-floor: unknown variant ${variant} (idle, main-koffi, worker-koffi)`);
  process.exit(2);
}
