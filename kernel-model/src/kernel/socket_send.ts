// socket_send.ts: the send system calls on a socket, down to sock->ops->sendmsg, and shutdown.
// Linux 4.6.2: net/socket.c (SYSC_sendto, SYSC_send, sock_sendmsg, sock_sendmsg_nosec,
// sock_write_iter). Book: the sender's half of §3.3 (what the probe's sender calls).
//
// Interface:
// * SYSC_sendto(k, fd, len, flags, addr, meta): import_single_range, sockfd_lookup_light
//   (-EBADF / -ENOTSOCK), the destination (addr.port; 0 is rejected by the protocol), O_NONBLOCK
//   -> MSG_DONTWAIT, then sock_sendmsg -> sock_sendmsg_nosec -> sock->ops->sendmsg
//   (inet_sendmsg). send(fd, buf, len, flags) is sendto with no address.
// * sock_write_iter: write(2) on a socket file (f_op->write_iter).
// * SYSC_shutdown(k, fd, how) -> sock->ops->shutdown (inet_shutdown, af_inet_send.ts).
//
// Model vs kernel: no LSM hook (security_socket_sendmsg returns 0), no control messages; the
// destination is a port on this host (127.0.0.1, the model's one route: lo).

import type { Kernel } from "./kernel";
import type { KGen } from "./sched";
import { sockfd_lookup_light, MSG_DONTWAIT, type SockaddrIn, type Socket } from "./socket";
import { O_NONBLOCK, type IovIter, type Kiocb } from "./fs";
import { EINVAL, ESPIPE, EOPNOTSUPP } from "./errno";


/** struct msghdr for sendmsg: destination, flags, and the user data (its length). */
export interface SendMsghdr {
  msg_name: SockaddrIn | null;
  msg_flags: number;
  /** msg_data_left(msg): bytes of user data. */
  count: number;
  /** Model: the message this payload is (end-to-end latency and counting), -1 if none. */
  msgId: number;
  /** Model: when the user called send (the probe's clock_gettime just before send()). */
  tstamp: number;
}

/** Model: what the caller knows about the message (for latency and counting). */
export interface SendMeta {
  msgId?: number;
}

/** sock_sendmsg(sock, msg) -> sock_sendmsg_nosec -> sock->ops->sendmsg(sock, msg, len). */
export function* sock_sendmsg(k: Kernel, sock: Socket, msg: SendMsghdr): KGen<number> {
  k.tr?.enter("sock_sendmsg", "sock_sendmsg(sock, &msg)");
  k.tr?.enter("sock_sendmsg_nosec", "sock_sendmsg_nosec(sock, msg)");
  k.tr?.enter("", "sock->ops->sendmsg(sock, msg, msg_data_left(msg))", `= ${typeof sock.ops?.sendmsg === "function" ? "inet_sendmsg" : "sock_no_sendmsg"}`);
  try {
    const sendmsg = sock.ops?.sendmsg as ((k: Kernel, s: Socket, m: SendMsghdr, size: number) => KGen<number>) | undefined;
    if (typeof sendmsg !== "function") return -EOPNOTSUPP;
    return yield* sendmsg(k, sock, msg, msg.count);
  } finally {
    k.tr?.exit();
    k.tr?.exit();
    k.tr?.exit();
  }
}

/** SYSCALL_DEFINE6(sendto, fd, buff, len, flags, addr, addr_len); send() passes addr = NULL. */
export function* SYSC_sendto(k: Kernel, fd: number, len: number, flags: number, addr: SockaddrIn | null, meta: SendMeta = {}): KGen<number> {
  const a = addr ? `{AF_INET, ${addr.sin_addr}:${addr.sin_port}}` : "NULL";
  k.tr?.enter("SYSC_sendto", `SYSC_sendto(fd = ${fd}, buff, len = ${len}, flags = 0x${flags.toString(16)}, ${a})`, undefined, "sys_sendto(");
  try {
    if (!(len >= 0 && Number.isInteger(len))) return -EINVAL; // import_single_range
    const sock = sockfd_lookup_light(k, fd);
    if (typeof sock === "number") return sock;
    if (sock.file!.f_flags & O_NONBLOCK) flags |= MSG_DONTWAIT;
    const msg: SendMsghdr = { msg_name: addr, msg_flags: flags, count: len, msgId: meta.msgId ?? -1, tstamp: k.now };
    return yield* sock_sendmsg(k, sock, msg);
  } finally {
    k.tr?.exit();
  }
}

/** SYSCALL_DEFINE4(send, fd, buff, len, flags): return sys_sendto(fd, buff, len, flags, NULL, 0). */
export function* SYSC_send(k: Kernel, fd: number, len: number, flags: number, meta: SendMeta = {}): KGen<number> {
  k.tr?.enter("SYSC_send", `SYSC_send(fd = ${fd}, buff, len = ${len}, flags = 0x${flags.toString(16)})`);
  try {
    return yield* SYSC_sendto(k, fd, len, flags, null, meta);
  } finally {
    k.tr?.exit();
  }
}

/** SYSCALL_DEFINE3(connect, fd, uservaddr, addrlen) -> sock->ops->connect(sock, addr, len,
 *  sock->file->f_flags). The address is a port on 127.0.0.1 (the model's one route: lo). */
export function* SYSC_connect(k: Kernel, fd: number, addr: SockaddrIn): KGen<number> {
  k.tr?.enter("SYSC_connect", `SYSC_connect(fd = ${fd}, {AF_INET, ${addr.sin_addr}:${addr.sin_port}}, 16)`);
  try {
    const sock = sockfd_lookup_light(k, fd);
    if (typeof sock === "number") return sock;
    const connect = sock.ops?.connect as ((k: Kernel, s: Socket, a: SockaddrIn, flags: number) => KGen<number>) | undefined;
    if (typeof connect !== "function") return -EOPNOTSUPP;
    return yield* connect(k, sock, addr, sock.file!.f_flags);
  } finally {
    k.tr?.exit();
  }
}

/** SYSCALL_DEFINE2(shutdown, fd, how) -> sock->ops->shutdown (inet_shutdown). */
export function* SYSC_shutdown(k: Kernel, fd: number, how: number): KGen<number> {
  k.tr?.enter("SYSC_shutdown", `SYSC_shutdown(fd = ${fd}, how = ${how})`);
  try {
    const sock = sockfd_lookup_light(k, fd);
    if (typeof sock === "number") return sock;
    const shutdown = sock.ops?.shutdown as ((k: Kernel, s: Socket, how: number) => KGen<number>) | undefined;
    if (typeof shutdown !== "function") return -EOPNOTSUPP; // sock_no_shutdown
    return yield* shutdown(k, sock, how);
  } finally {
    k.tr?.exit();
  }
}

/** sock_write_iter(iocb, from): write(2) on a socket. */
export function* sock_write_iter(k: Kernel, iocb: Kiocb, from: IovIter): KGen<number> {
  k.tr?.enter("sock_write_iter", "filp->f_op->write_iter(&kiocb, &iter)", "= sock_write_iter");
  try {
    const file = iocb.ki_filp;
    const sock = file.private_data as Socket;
    if (iocb.ki_pos !== 0) return -ESPIPE;
    const msg: SendMsghdr = { msg_name: null, msg_flags: file.f_flags & O_NONBLOCK ? MSG_DONTWAIT : 0, count: from.count, msgId: -1, tstamp: k.now };
    return yield* sock_sendmsg(k, sock, msg);
  } finally {
    k.tr?.exit();
  }
}
