// inet_connection_sock.ts: accept() on a listening socket.
// Linux 4.6.2: net/ipv4/inet_connection_sock.c. Book: §3.4 (server sockets), §1.10 of the reference.
//
// Interface: inet_csk_accept(sk, flags): take the first child from icsk_accept_queue; when it
// is empty, -EAGAIN for a non-blocking socket, else sleep in inet_csk_wait_for_connect, an
// EXCLUSIVE wait on the listener's sk_sleep (one accept()er woken per connection).
//
// Model vs kernel: no request-sock timers or SYN queue limits beyond sk_max_ack_backlog.

import type { Kernel } from "./kernel";
import { TASK_INTERRUPTIBLE, type KGen } from "./sched";
import { DEFINE_WAIT, finish_wait, prepare_to_wait_exclusive } from "./wait";
import { lock_sock, release_sock, sk_sleep, sock_intr_errno, sock_rcvtimeo, TCP_LISTEN, type Sock } from "./sock";
import { schedule_timeout } from "./timer";
import { O_NONBLOCK } from "./fs";
import { tcp_sk, type TcpSock } from "./tcp";
import { EAGAIN, EINVAL } from "./errno";

/** inet_csk_wait_for_connect(sk, timeo): sleep exclusively until a child is queued. */
function* inet_csk_wait_for_connect(k: Kernel, sk: Sock, timeo: number): KGen<number> {
  k.tr?.enter("inet_csk_wait_for_connect", "inet_csk_wait_for_connect(sk, timeo)");
  const wait = DEFINE_WAIT(k);
  let err = 0;
  for (;;) {
    prepare_to_wait_exclusive(k, sk_sleep(sk), wait, TASK_INTERRUPTIBLE);
    release_sock(k, sk);
    if (tcp_sk(sk).icsk_accept_queue.length === 0) timeo = yield* schedule_timeout(k, timeo);
    yield* lock_sock(k, sk);
    err = 0;
    if (tcp_sk(sk).icsk_accept_queue.length > 0) break;
    err = -EINVAL;
    if (sk.sk_state !== TCP_LISTEN) break;
    err = sock_intr_errno(timeo);
    if (k.current.sigpending) break;
    err = -EAGAIN;
    if (!timeo) break;
  }
  finish_wait(k, sk_sleep(sk), wait);
  k.tr?.exit();
  return err;
}

/** inet_csk_accept(sk, flags, &err): sk->sk_prot->accept for TCP. */
export function* inet_csk_accept(k: Kernel, sk: Sock, flags: number): KGen<TcpSock | number> {
  k.tr?.enter("inet_csk_accept", "sk1->sk_prot->accept(sk1, flags, &err) = inet_csk_accept(sk, flags, &err)");
  yield* lock_sock(k, sk);
  try {
    if (sk.sk_state !== TCP_LISTEN) return -EINVAL;
    const q = tcp_sk(sk).icsk_accept_queue;
    if (q.length === 0) {
      const timeo = sock_rcvtimeo(sk, flags & O_NONBLOCK);
      if (!timeo) return -EAGAIN;
      const err = yield* inet_csk_wait_for_connect(k, sk, timeo);
      if (err) return err;
    }
    k.tr?.leaf("req = reqsk_queue_remove(queue, sk); newsk = req->sk", "从全连接队列取出 child sock");
    return q.shift()!;
  } finally {
    release_sock(k, sk);
    k.tr?.exit();
  }
}
