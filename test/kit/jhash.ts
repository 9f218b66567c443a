// The kernel's jhash bucket, ported in the core (firmware/core/cluster/jhash.ts); tests import it here.
export { jhash, nftJhashBucket } from '../../firmware/core/cluster/jhash.ts';
