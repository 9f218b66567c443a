#!/usr/bin/env python3
# An HSRPv1 router for tests, written from RFC 2281 alone (5.1 the message, 6.1 the six states,
# 6.2 the three timers, 6.3-6.5 the events a..l, the actions A..I and the state table), not from
# tandem's code. scapy's HSRP layer (Debian python3-scapy) builds and parses the messages; a UDP
# socket on port 1985 joined to 224.0.0.2 with TTL 1 carries them.
#
# usage: hsrp-speaker.py OWN_IP GROUP PRIORITY VIP HELLO_S HOLD_S AUTH [preempt]
# stdout: one JSON object per line: {"ev": "state", "state": "Active", "t": <monotonic s>} on each
#   change, {"ev": "rx", "op": "coup", "src": ...} for Coups and Resigns, {"ev": "bad-auth", ...}.
# SIGTERM: event b; an active router sends a Resign (action H) first.
import faulthandler, json, select, signal, socket, sys, time
from scapy.layers.hsrp import HSRP

GROUP_ADDR, PORT = '224.0.0.2', 1985
INITIAL, LEARN, LISTEN, SPEAK, STANDBY, ACTIVE = 0, 1, 2, 4, 8, 16
NAME = {INITIAL: 'Initial', LEARN: 'Learn', LISTEN: 'Listen', SPEAK: 'Speak', STANDBY: 'Standby', ACTIVE: 'Active'}
OP_HELLO, OP_COUP, OP_RESIGN = 0, 1, 2

own_ip, group, priority, vip = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
hellotime, holdtime, auth = int(sys.argv[5]), int(sys.argv[6]), sys.argv[7].encode()
preempt = len(sys.argv) > 8 and sys.argv[8] == 'preempt'
auth8 = auth.ljust(8, b'\0')[:8]


def say(**kw):
    kw['t'] = time.monotonic()
    print(json.dumps(kw), flush=True)


def addr_key(ip):
    return tuple(int(x) for x in ip.split('.'))


sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(('', PORT))
sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton(GROUP_ADDR) + socket.inet_aton(own_ip))
sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(own_ip))
sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)  # RFC 2281 5.1
sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)

state = INITIAL
timer = {'active': None, 'standby': None, 'hello': None}  # absolute deadlines, None = stopped
hold_in_use, hello_in_use = holdtime, hellotime


def send(op):
    msg = HSRP(version=0, opcode=op, state=state, hellotime=hello_in_use, holdtime=hold_in_use,
               priority=priority, group=group, reserved=0, auth=auth8, virtualIP=vip)
    sock.sendto(bytes(msg), (GROUP_ADDR, PORT))


def goto(new):
    global state
    if new != state:
        state = new
        say(ev='state', state=NAME[new])


# The actions of RFC 2281 6.4, by letter.
def A(hold=None): timer['active'] = time.monotonic() + (hold or hold_in_use)
def B(hold=None): timer['standby'] = time.monotonic() + (hold or hold_in_use)
def C(): timer['active'] = None
def D(): timer['standby'] = None
def F():
    send(OP_HELLO)
    timer['hello'] = time.monotonic() + hello_in_use
def G(): send(OP_COUP)
def H(): send(OP_RESIGN)
def I(): say(ev='gratuitous-arp', vip=vip)  # the test reads the state; no ARP is needed here


def become_active():
    C(); D(); goto(ACTIVE); F(); I()


def become_speak():
    B(); goto(SPEAK); F()


def ev_active_timer():  # c
    C()
    if state == LISTEN: become_speak()
    elif state == STANDBY: become_active()


def ev_standby_timer():  # d
    D()
    if state == LISTEN: become_speak()
    elif state == SPEAK:
        goto(STANDBY)
        if timer['active'] is None: become_active()  # nobody is active: the standby takes over


def ev_hello_timer():  # e
    if state in (SPEAK, STANDBY, ACTIVE): F()
    else: timer['hello'] = None


def receive(data, src):
    global hold_in_use, hello_in_use
    if src == own_ip: return
    try:
        m = HSRP(data)
    except Exception:
        return
    if m.version != 0 or m.group != group: return
    if bytes(m.auth) != auth8:
        say(ev='bad-auth', src=src)
        return
    higher = (m.priority, addr_key(src)) > (priority, addr_key(own_ip))
    if m.opcode == OP_COUP:
        say(ev='rx', op='coup', src=src)
        if state == ACTIVE and higher:  # j: ABH, to Speak
            A(m.holdtime); B(); H(); goto(SPEAK); F()
        return
    if m.opcode == OP_RESIGN:
        say(ev='rx', op='resign', src=src)
        if m.state == ACTIVE: ev_active_timer()  # i
        return
    if m.state == ACTIVE:
        if state == ACTIVE:
            if higher: A(m.holdtime); B(); goto(SPEAK); F()  # g: AB, to Speak
            else: G()  # h: a Coup
            return
        A(m.holdtime)  # g / h: A, E (timers learnt only when not configured; they are here)
        if not higher and preempt and state in (LISTEN, SPEAK, STANDBY):
            G(); become_active()
    elif m.state == STANDBY:
        if state == ACTIVE: B()  # the standby router is alive
        elif higher:  # k
            B()
            if state in (SPEAK, STANDBY): goto(LISTEN); timer['hello'] = None
    elif m.state == SPEAK:
        if higher and state in (SPEAK, STANDBY):  # f
            B(); goto(LISTEN); timer['hello'] = None


stopping = False


def on_term(*_):
    global stopping
    stopping = True


signal.signal(signal.SIGTERM, on_term)
signal.signal(signal.SIGINT, on_term)

# a: configured on an enabled interface, the virtual IP known: AB, to Listen.
say(ev='state', state=NAME[INITIAL])
A(); B(); goto(LISTEN)
while not stopping:
    # A diagnostic: a loop turn stalled for 3 s prints where it is stuck (stderr, in the test's log).
    faulthandler.cancel_dump_traceback_later()
    faulthandler.dump_traceback_later(3)
    now = time.monotonic()
    due = [t for t in timer.values() if t is not None]
    wait = max(0.0, min(due) - now) if due else 0.5
    try:
        r, _, _ = select.select([sock], [], [], min(wait, 0.5))
    except InterruptedError:
        continue
    if r:
        data, (src, _) = sock.recvfrom(2048)
        receive(data, src)
    now = time.monotonic()
    if timer['hello'] is not None and now >= timer['hello']: ev_hello_timer()
    if timer['active'] is not None and now >= timer['active']: ev_active_timer()
    if timer['standby'] is not None and now >= timer['standby']: ev_standby_timer()

# b: disabled. The active router resigns (H).
if state == ACTIVE: H()
goto(INITIAL)
