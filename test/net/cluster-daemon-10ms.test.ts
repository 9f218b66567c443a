// The active-active end-to-end test (cluster-daemon.test.ts) again at 10 ms adverts (issue #13:
// "at 100 ms and 10 ms adverts"): the same steady state, silent failure within 3 x interval +
// skew (+ margin) and not before, split brain, and planned changes with long-lived TCP.
process.env.TANDEM_TEST_CLUSTER_ADVERT_MS = '10';
await import('./cluster-daemon.test.ts');
