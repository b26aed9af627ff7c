// tcp_send.ts: tcp_sendmsg's checks before any data moves: the connection state, SEND_SHUTDOWN,
// a pending error. Linux 4.6.2: net/ipv4/tcp.c (tcp_sendmsg), net/core/stream.c
// (sk_stream_wait_connect, sk_stream_error; stream.c is not among the 70 files: modelled from
// 4.6's source as quoted in the Kernel note below). Book: the send side a server needs.
//
// Interface:
// * tcp_sendmsg(k, sk, msg, size): lock_sock; a socket that is not ESTABLISHED or CLOSE_WAIT
//   goes through sk_stream_wait_connect (pending sk_err -> that error; not SYN_SENT/SYN_RECV ->
//   -EPIPE); then sk_err or SEND_SHUTDOWN -> -EPIPE (sk_stream_error: the pending error if any).
//
// Model vs kernel: the model has no TCP transmit path (no tcp_write_xmit, no ACK processing, no
// TCP over lo): data on an established connection throws a clear "not modelled" error rather
// than pretend. SIGPIPE is not sent (as if MSG_NOSIGNAL): the model's signals are no-ops.
// Kernel note: sk_stream_wait_connect (4.6 net/core/stream.c) returns sock_error(sk) if set,
// -EPIPE unless the state is SYN_SENT or SYN_RECV, -EAGAIN without a timeout, else it waits.

import type { Kernel } from "./kernel";
import type { KGen } from "./sched";
import { lock_sock, release_sock, sock_error, SEND_SHUTDOWN, TCP_CLOSE_WAIT, TCP_ESTABLISHED, TCP_SYN_RECV, TCP_SYN_SENT, type Sock } from "./sock";
import type { SendMsghdr } from "./socket_send";
import { EPIPE } from "./errno";

/** sk_stream_error(sk, flags, err): -EPIPE becomes the pending error, if any. */
function sk_stream_error(sk: Sock, err: number): number {
  if (err === -EPIPE) err = sock_error(sk) || -EPIPE;
  return err;
}

/** tcp_sendmsg(sk, msg, size). */
export function* tcp_sendmsg(k: Kernel, sk: Sock, msg: SendMsghdr, size: number): KGen<number> {
  k.tr?.enter("tcp_sendmsg", "tcp_sendmsg(sk, msg, size)");
  lock_sock(k, sk);
  let err = 0;
  try {
    if (sk.sk_state !== TCP_ESTABLISHED && sk.sk_state !== TCP_CLOSE_WAIT) {
      // sk_stream_wait_connect(sk, &timeo)
      err = sock_error(sk);
      if (!err && sk.sk_state !== TCP_SYN_SENT && sk.sk_state !== TCP_SYN_RECV) err = -EPIPE;
      if (err) {
        k.tr?.leaf(`sk_stream_wait_connect(sk, &timeo) = ${err}`, "not connected");
        return err; // do_error with nothing copied -> out_err
      }
    }
    if (sk.sk_err || sk.sk_shutdown & SEND_SHUTDOWN) {
      err = sk_stream_error(sk, -EPIPE);
      k.tr?.leaf(`sk->sk_err || (sk->sk_shutdown & SEND_SHUTDOWN): ${err}`, "SIGPIPE not modelled (as MSG_NOSIGNAL)");
      return err;
    }
    throw new Error(`send on a connected TCP socket: the model has no TCP transmit path (tcp_write_xmit); ${size} bytes, flags 0x${msg.msg_flags.toString(16)}`);
  } finally {
    release_sock(k, sk);
    k.tr?.exit();
  }
}
