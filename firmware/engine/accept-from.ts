// accept_from (issue #12): the routers whose adverts an instance takes into account. VRRP has no
// authentication (RFC 5798 section 9), so a spoofed advert from any host on the segment could take
// the virtual address (priority 255) or force a takeover (priority 0). The allowlist is keepalived's
// check_unicast_src extended to multicast; a pinned MAC also refuses a host that borrows a listed
// address but not its NIC (it does not stop one that forges both: see docs/security.md).
import type { AcceptFromPeer } from '../config/types.ts';
import type { CountedDrop } from '../core/status.ts';

/** Undefined when the advert may go on; else the drop reason to count. */
export function refuseSource(
  acceptFrom: readonly AcceptFromPeer[] | undefined,
  src: string,
  srcMac: string,
): CountedDrop | undefined {
  if (!acceptFrom) return undefined;
  const peer = acceptFrom.find((p) => p.address === src);
  if (!peer) return 'source-not-accepted';
  if (peer.mac !== undefined && peer.mac !== srcMac.toLowerCase()) return 'source-mac-mismatch';
  return undefined;
}
