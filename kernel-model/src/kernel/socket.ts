// socket.ts: struct socket, the socket syscalls and the socket file.
// Linux 4.6.2: net/socket.c, include/linux/net.h. Book: §3.2 (socket的直接创建), §3.3 (recv).
//
// Interface:
// * SYSC_socket -> sock_create -> __sock_create -> sock_alloc, net_families[family]->create
//   (= inet_create), then sock_map_fd -> sock_alloc_file + fd_install.
// * socket_file_ops: read_iter = sock_read_iter, poll = sock_poll, release = sock_close.
// * sock_recvmsg -> sock_recvmsg_nosec -> sock->ops->recvmsg (inet_recvmsg).
// * sockfd_lookup_light(fd) for the socket syscalls: -EBADF / -ENOTSOCK.
// * sock_release(sock): sock->ops->release (inet_release -> sk_prot->close), then the socket.
//
// Error order (reference §5): flags -> EINVAL; family -> EAFNOSUPPORT; type -> EINVAL;
// unregistered family -> EAFNOSUPPORT; inet_create's own; then EMFILE from sock_map_fd. On any
// error nothing stays allocated: sock_release frees the socket and its sock, the fd is returned.
//
// Model vs kernel: no LSM hooks (security_* return 0), no module loading (request_module finds
// nothing), only PF_INET is registered (a kernel without IPv6, UNIX or PACKET sockets).

import type { Kernel } from "./kernel";
import { MAX_SCHEDULE_TIMEOUT, returnNow, tailCall, type KGen } from "./sched";
import type { Sock } from "./sock";
import {
  alloc_file, fd_install, fdget, fput, get_unused_fd_flags, put_unused_fd, FMODE_READ, FMODE_WRITE,
  O_CLOEXEC, O_NONBLOCK, O_RDWR, type File, type FileOperations, type IovIter, type Kiocb, type PollTable,
} from "./fs";
import { SocketWqHead, type WaitQueueHead } from "./wait";
import { EAFNOSUPPORT, EBADF, EINVAL, ENOTSOCK, ESPIPE, EOPNOTSUPP, ENOPROTOOPT, EFAULT, EMSGSIZE } from "./errno";
import { access_ok, copyFaults, USER_BUF, type BadUserAddr, type UserPtr } from "./uaccess";
import { JIFFY_NS } from "./dev";
import { sock_write_iter } from "./socket_send";

// include/linux/socket.h, include/linux/net.h, include/uapi/linux/in.h
export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const PF_INET = AF_INET;
export const AF_INET6 = 10;
export const AF_PACKET = 17;
export const PF_PACKET = AF_PACKET;
/** NPROTO = AF_MAX in 4.6. */
export const NPROTO = 42;
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const SOCK_RDM = 4;
export const SOCK_SEQPACKET = 5;
export const SOCK_DCCP = 6;
export const SOCK_PACKET = 10;
export const SOCK_MAX = 11;
export const SOCK_TYPE_MASK = 0xf;
export const SOCK_NONBLOCK = O_NONBLOCK;
export const SOCK_CLOEXEC = O_CLOEXEC;
export const IPPROTO_IP = 0;
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_MAX = 256;
// include/linux/socket.h: recv flags
export const MSG_PEEK = 0x2;
export const MSG_TRUNC = 0x20;
export const MSG_DONTWAIT = 0x40;
export const MSG_WAITALL = 0x100;

/** socket_state (include/uapi/linux/net.h). */
export const SS_FREE = 0;
export const SS_UNCONNECTED = 1;
export const SS_CONNECTING = 2;
export const SS_CONNECTED = 3;
export const SS_DISCONNECTING = 4;

/** struct socket_wq (include/linux/net.h): the wait queue that sk_sleep(sk) returns. */
export interface SocketWq {
  /** Readers (sk_wait_data), epoll's ep_poll_callback entries, poll/select callers. */
  wait: WaitQueueHead;
  fasync_list: null;
  /** SOCKWQ_ASYNC_NOSPACE(0), SOCKWQ_ASYNC_WAITDATA(1). */
  flags: number;
}

/** struct msghdr (include/linux/socket.h), reduced to what recvmsg uses. */
export interface Msghdr {
  msg_flags: number;
  msg_iter: IovIter;
  /** The sender's address (recvfrom with addr): filled by udp_recvmsg; null = not wanted. */
  msg_name?: SockaddrIn | null;
  /** Bytes of msg_name the protocol filled (inet_recvmsg: addr_len; 0 for TCP). */
  msg_namelen?: number;
}

/** struct sockaddr_in (include/uapi/linux/in.h); sizeof = 16. */
export interface SockaddrIn {
  sin_family: number;
  sin_port: number;
  sin_addr: string;
}
export const SIZEOF_SOCKADDR_IN = 16;

/** recvfrom's `addr` and `addrlen` arguments: addrlen is the buffer size going in and the
 *  address length coming out (move_addr_to_user); addr stays null if nothing was copied. */
export interface RecvfromAddr {
  addr: SockaddrIn | null;
  addrlen: number;
  /** Model: `addr` points to a bad address (KERNEL_ADDR or UNMAPPED_ADDR): copy_to_user faults. */
  addrPtr?: BadUserAddr;
  /** Model: `addr_len` points to a bad address: get_user(len, ulen) faults. */
  addrlenPtr?: BadUserAddr;
}

/** struct proto_ops (include/linux/net.h): the BSD-socket-layer operations of a family/type. */
export interface ProtoOps {
  name: string;
  family: number;
  release: (k: Kernel, sock: Socket) => number;
  poll: ((k: Kernel, file: File, sock: Socket, pt: PollTable | null) => number) | null;
  recvmsg: ((k: Kernel, sock: Socket, msg: Msghdr, size: number, flags: number) => KGen<number>) | null;
  [op: string]: unknown;
}

/** struct socket (include/linux/net.h): the BSD socket the file points at. */
export interface Socket {
  /** SS_UNCONNECTED after socket(); SS_CONNECTED after connect/accept. */
  state: number;
  type: number;
  flags: number;
  /** Shared with sk->sk_wq by sock_init_data: sk_sleep(sk) == &sock->wq->wait. */
  wq: SocketWq;
  /** Back pointer: file->private_data == this socket. */
  file: File | null;
  sk: Sock | null;
  /** inet_stream_ops (TCP), inet_dgram_ops (UDP), inet_sockraw_ops (raw). */
  ops: ProtoOps | null;
}

/** struct net_proto_family (include/linux/net.h). */
export interface NetProtoFamily {
  family: number;
  create: (k: Kernel, sock: Socket, protocol: number, kern: number) => number;
}

export const socket_file_ops: FileOperations = {
  name: "socket_file_ops",
  read_iter: sock_read_iter,
  write_iter: (k, iocb, from) => sock_write_iter(k, iocb, from),
  poll: sock_poll,
  release: sock_close,
};

/** sock_register: net_families[ops->family] = ops (inet_init does it for PF_INET at boot). */
export function sock_register(k: Kernel, ops: NetProtoFamily): void {
  k.net_families[ops.family] = ops;
}

/** sock_alloc: a new struct socket (in sockfs, with its inode). Book erratum: a socket, not a sock. */
export function sock_alloc(k: Kernel): Socket {
  k.tr?.enter("sock_alloc", "sock = sock_alloc()", "创建socket对象");
  k.tr?.enter("new_inode_pseudo", "inode = new_inode_pseudo(sock_mnt->mnt_sb)");
  k.tr?.enter("alloc_inode", "inode = alloc_inode(sb)");
  k.tr?.leaf("sb->s_op->alloc_inode(sb) = sock_alloc_inode(sb)", "socket_alloc = {socket, vfs_inode}; wq = kmalloc(socket_wq); init_waitqueue_head(&wq->wait)", "sock_alloc_inode");
  k.tr?.exit();
  k.tr?.exit();
  const sock: Socket = {
    state: SS_UNCONNECTED, type: 0, flags: 0,
    wq: new SocketWqHead(k.socketsCreated + 1), // sock_alloc_inode: the socket_wq and its wait head
    file: null, sk: null, ops: null,
  };
  k.socketsCreated++;
  k.sockets_in_use++;
  k.tr?.exit();
  return sock;
}

/** sock_release: close the protocol side (ops->release), then free the socket. */
export function sock_release(k: Kernel, sock: Socket): void {
  k.tr?.enter("sock_release", "sock_release(sock)");
  if (sock.ops) {
    sock.ops.release(k, sock);
    sock.ops = null;
  }
  k.sockets_in_use--;
  sock.file = null;
  sock.state = SS_FREE;
  k.tr?.exit();
}

/** __sock_create(net, family, type, protocol, res, kern). */
export function __sock_create(k: Kernel, family: number, type: number, protocol: number, kern: number): Socket | number {
  k.tr?.enter("__sock_create", `__sock_create(net, family, type, protocol, res, ${kern})`);
  try {
    if (family < 0 || family >= NPROTO) return -EAFNOSUPPORT;
    if (type < 0 || type >= SOCK_MAX) return -EINVAL;
    if (family === PF_INET && type === SOCK_PACKET) family = PF_PACKET; // compat, with a warning
    const sock = sock_alloc(k);
    sock.type = type;
    const pf = k.net_families[family] ?? null;
    k.tr?.leaf("pf = rcu_dereference(net_families[family])", "通过family获取对应的协议族");
    if (!pf) {
      sock_release(k, sock);
      return -EAFNOSUPPORT;
    }
    k.tr?.enter("", "pf->create(net, sock, protocol, kern)", "调用协议族的create函数，即inet_create");
    const err = pf.create(k, sock, protocol, kern);
    k.tr?.exit();
    if (err < 0) {
      sock.ops = null; // out_module_put: inet_create already released any sk it built
      sock_release(k, sock); // out_sock_release
      return err;
    }
    return sock;
  } finally {
    k.tr?.exit();
  }
}

/** sock_create(family, type, protocol, &sock): __sock_create in the caller's netns, kern = 0. */
export function sock_create(k: Kernel, family: number, type: number, protocol: number): Socket | number {
  k.tr?.enter("sock_create", "sock_create(family, type, protocol, &sock)");
  const r = __sock_create(k, family, type, protocol, 0);
  k.tr?.exit();
  return r;
}

/** sock_alloc_file: the struct file of a socket: f_op = &socket_file_ops, private_data = sock. */
export function sock_alloc_file(k: Kernel, sock: Socket, flags: number): File {
  k.tr?.enter("sock_alloc_file", "newfile = sock_alloc_file(sock, flags, NULL)");
  const name = sock.sk ? sock.sk.sk_prot_creator.name : "";
  const file = alloc_file(k, name, FMODE_READ | FMODE_WRITE, socket_file_ops, sock);
  sock.file = file;
  file.f_flags = O_RDWR | (flags & O_NONBLOCK);
  k.tr?.leaf("sock->file = file; file->private_data = sock", "struct file -> struct socket");
  k.tr?.exit();
  return file;
}

/** sock_map_fd: an fd and a file for the socket. */
export function sock_map_fd(k: Kernel, sock: Socket, flags: number): number {
  k.tr?.enter("sock_map_fd", "sock_map_fd(sock, flags & (O_CLOEXEC | O_NONBLOCK))");
  try {
    const fd = get_unused_fd_flags(k, flags);
    if (fd < 0) return fd;
    const file = sock_alloc_file(k, sock, flags);
    if (!file) {
      put_unused_fd(k, fd);
      return -EINVAL;
    }
    fd_install(k, fd, file);
    return fd;
  } finally {
    k.tr?.exit();
  }
}

/** SYSCALL_DEFINE3(socket, family, type, protocol). */
export function SYSC_socket(k: Kernel, family: number, type: number, protocol: number): number {
  k.tr?.enter("SYSC_socket", `SYSC_socket(family = ${family}, type = ${type}, protocol = ${protocol})`);
  try {
    const flags = type & ~SOCK_TYPE_MASK;
    if (flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK)) return -EINVAL;
    type &= SOCK_TYPE_MASK;
    const sock = sock_create(k, family, type, protocol);
    if (typeof sock === "number") return sock;
    const fd = sock_map_fd(k, sock, flags & (O_CLOEXEC | O_NONBLOCK));
    if (fd < 0) sock_release(k, sock); // out_release
    return fd;
  } finally {
    k.tr?.exit();
  }
}

/** sock_from_file: the socket of a socket file, else -ENOTSOCK. */
export function sock_from_file(file: File): Socket | number {
  return file.f_op === socket_file_ops ? (file.private_data as Socket) : -ENOTSOCK;
}

/** sockfd_lookup_light(fd): -EBADF for no file, -ENOTSOCK for a file that is not a socket. */
export function sockfd_lookup_light(k: Kernel, fd: number): Socket | number {
  const file = fdget(k, fd);
  if (!file) return -EBADF;
  return sock_from_file(file);
}

/** sock_read_iter: read(2) on a socket. O_NONBLOCK -> MSG_DONTWAIT. */
export function sock_read_iter(k: Kernel, iocb: Kiocb, to: IovIter): KGen<number> {
  k.tr?.enter("sock_read_iter", "filp->f_op->read_iter(&kiocb, &iter)", "= sock_read_iter");
  const file = iocb.ki_filp;
  const sock = file.private_data as Socket;
  const msg: Msghdr = { msg_flags: file.f_flags & O_NONBLOCK ? MSG_DONTWAIT : 0, msg_iter: to };
  if (iocb.ki_pos !== 0) return returnNow(k, -ESPIPE);
  if (to.count === 0) return returnNow(k, 0); // match SYS5 behaviour
  return tailCall(k, sock_recvmsg(k, sock, msg, to.count, msg.msg_flags)); // a tail call (sched.ts)
}

/** sock_recvmsg -> sock_recvmsg_nosec -> sock->ops->recvmsg. */
export function sock_recvmsg(k: Kernel, sock: Socket, msg: Msghdr, size: number, flags: number,
  text = "sock_recvmsg(sock, &msg, iov_iter_count(to), msg.msg_flags)"): KGen<number> {
  k.tr?.enter("sock_recvmsg", text);
  k.tr?.enter("sock_recvmsg_nosec", "sock_recvmsg_nosec(sock, msg, size, flags)");
  k.tr?.enter("", "sock->ops->recvmsg(sock, msg, size, flags)", `这里即是${sock.ops?.recvmsg ? "inet_recvmsg" : "NULL"}`);
  if (!sock.ops?.recvmsg) return returnNow(k, -EINVAL, 3);
  return tailCall(k, sock.ops.recvmsg(k, sock, msg, size, flags), 3); // a tail call (sched.ts)
}

/** sock_poll: file->f_op->poll for sockets -> sock->ops->poll (tcp_poll / udp_poll). */
export function sock_poll(k: Kernel, file: File, pt: PollTable | null): number {
  const sock = file.private_data as Socket;
  k.tr?.enter("sock_poll", "sock_poll(file, wait)");
  const mask = sock.ops?.poll ? sock.ops.poll(k, file, sock, pt) : 0;
  k.tr?.exit();
  return mask;
}

/** sock_close: f_op->release of a socket file (the last fput). */
export function sock_close(k: Kernel, file: File): void {
  k.tr?.enter("sock_close", "file->f_op->release(inode, file) = sock_close(inode, filp)", undefined, "file->f_op->release(");
  sock_release(k, file.private_data as Socket);
  k.tr?.exit();
}

// ---- the socket syscalls of §3.3-§3.4 ----

/** SYSCALL_DEFINE3(bind, fd, umyaddr, addrlen): port only (one local address in the model). */
export function SYSC_bind(k: Kernel, fd: number, port: number): number {
  k.tr?.enter("SYSC_bind", `SYSC_bind(fd = ${fd}, {AF_INET, port ${port}})`);
  const sock = sockfd_lookup_light(k, fd);
  const r = typeof sock === "number" ? sock : (sock.ops!.bind as (k: Kernel, s: Socket, p: number) => number)(k, sock, port);
  k.tr?.exit();
  return r;
}

/** SYSCALL_DEFINE2(listen, fd, backlog). */
export function SYSC_listen(k: Kernel, fd: number, backlog: number): number {
  k.tr?.enter("SYSC_listen", `SYSC_listen(fd = ${fd}, backlog = ${backlog})`);
  const sock = sockfd_lookup_light(k, fd);
  let r: number;
  if (typeof sock === "number") r = sock;
  else if (typeof sock.ops!.listen !== "function") r = -EOPNOTSUPP; // sock_no_listen
  else r = (sock.ops!.listen as (k: Kernel, s: Socket, b: number) => number)(k, sock, backlog);
  k.tr?.exit();
  return r;
}

/** SYSCALL_DEFINE4(accept4, fd, upeer_sockaddr, upeer_addrlen, flags). */
export function* SYSC_accept4(k: Kernel, fd: number, flags: number): KGen<number> {
  k.tr?.enter("SYSC_accept4", `SYSC_accept4(fd = ${fd}, NULL, NULL, flags = ${flags})`);
  try {
    if (flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK)) return -EINVAL;
    const sock = sockfd_lookup_light(k, fd);
    if (typeof sock === "number") return sock;
    if (typeof sock.ops!.accept !== "function") return -EOPNOTSUPP; // sock_no_accept
    const newsock = sock_alloc(k);
    newsock.type = sock.type;
    newsock.ops = sock.ops;
    const newfd = get_unused_fd_flags(k, flags & O_CLOEXEC);
    if (newfd < 0) {
      sock_release(k, newsock);
      return newfd;
    }
    const newfile = sock_alloc_file(k, newsock, flags);
    const accept = sock.ops!.accept as (k: Kernel, s: Socket, n: Socket, f: number) => KGen<number>;
    const err = yield* accept(k, sock, newsock, sock.file!.f_flags);
    if (err < 0) {
      put_unused_fd(k, newfd);
      fput(k, newfile);
      return err;
    }
    newfile.name = newsock.sk!.sk_prot_creator.name;
    fd_install(k, newfd, newfile);
    return newfd;
  } finally {
    k.tr?.exit();
  }
}

/** move_addr_to_user(kaddr, klen, uaddr, ulen): copy min(*ulen, klen) bytes of the address,
 *  then *ulen = klen (the true length); -EINVAL for a negative *ulen. */
export function move_addr_to_user(k: Kernel, kaddr: SockaddrIn, klen: number, u: RecvfromAddr): number {
  k.tr?.leaf("err2 = move_addr_to_user(&address, msg.msg_namelen, addr, addr_len)", `klen = ${klen}`, "move_addr_to_user");
  if (u.addrlenPtr) return -EFAULT; // get_user(len, ulen): access_ok fails or the load faults
  let len = u.addrlen;
  if (len > klen) len = klen;
  if (len < 0) return -EINVAL;
  if (len) {
    if (u.addrPtr) return -EFAULT; // copy_to_user(uaddr, kaddr, len)
    u.addr = { ...kaddr }; // the model copies the struct whole
  }
  u.addrlen = klen; // __put_user(klen, ulen)
  return 0;
}

/** SYSCALL_DEFINE6(recvfrom, ...). x86-64 has no recv syscall (syscall_64.tbl): glibc's
 *  recv(fd, buf, len, flags) is recvfrom(fd, buf, len, flags, NULL, NULL). */
export function* SYSC_recvfrom(k: Kernel, fd: number, size: number, flags: number, iter: IovIter, uaddr: RecvfromAddr | null = null,
  ubuf: UserPtr<unknown> = USER_BUF): KGen<number> {
  k.tr?.enter("SYSC_recvfrom", `SYSC_recvfrom(fd = ${fd}, ubuf, size = ${size}, flags = 0x${flags.toString(16)}, ${uaddr ? "addr, addr_len" : "addr = NULL, addr_len = NULL"})`);
  try {
    k.tr?.leaf("err = import_single_range(READ, ubuf, size, &iov, &msg.msg_iter)", undefined, "import_single_range");
    // import_single_range (lib/iov_iter.c): the length is capped at MAX_RW_COUNT, then
    // access_ok(VERIFY_WRITE, buf, len): a buffer above TASK_SIZE_MAX fails before the fd lookup
    if (!access_ok(ubuf)) return -EFAULT;
    iter.count = Math.min(size, MAX_RW_COUNT);
    if (ubuf !== USER_BUF) iter.fault = copyFaults(ubuf); // NULL or unmapped: the copy faults later
    k.tr?.leaf("sock = sockfd_lookup_light(fd, &err, &fput_needed)", undefined, "sockfd_lookup_light");
    const sock = sockfd_lookup_light(k, fd);
    if (typeof sock === "number") return sock;
    // msg.msg_name = addr ? (struct sockaddr *)&address : NULL; msg.msg_namelen = 0
    const address: SockaddrIn = { sin_family: 0, sin_port: 0, sin_addr: "" };
    const msg: Msghdr = { msg_flags: 0, msg_iter: iter, msg_name: uaddr ? address : null, msg_namelen: 0 };
    if (sock.file!.f_flags & O_NONBLOCK) flags |= MSG_DONTWAIT;
    let err = yield* sock_recvmsg(k, sock, msg, iter.count, flags, "sock_recvmsg(sock, &msg, iov_iter_count(&msg.msg_iter), flags)");
    if (err >= 0 && uaddr) {
      const err2 = move_addr_to_user(k, address, msg.msg_namelen ?? 0, uaddr);
      if (err2 < 0) err = err2;
    }
    return err;
  } finally {
    k.tr?.exit();
  }
}

// include/uapi/asm-generic/socket.h
export const SOL_SOCKET = 1;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SO_RCVLOWAT = 18;
export const SO_RCVTIMEO = 20;

/** SYSCALL_DEFINE5(setsockopt) -> sock_setsockopt, SOL_SOCKET options of this chapter.
 *  SO_RCVTIMEO takes ns here (struct timeval in C); 0 means forever, as {0, 0} does. */
export function SYSC_setsockopt(k: Kernel, fd: number, level: number, optname: number, val: number): number {
  k.tr?.enter("SYSC_setsockopt", `SYSC_setsockopt(fd = ${fd}, level = ${level}, optname = ${optname}, ${val})`);
  try {
    const sock = sockfd_lookup_light(k, fd);
    if (typeof sock === "number") return sock;
    if (level !== SOL_SOCKET) return -ENOPROTOOPT;
    const sk = sock.sk!;
    switch (optname) {
      case SO_SNDBUF:
        // sk_sndbuf = max(val * 2, SOCK_MIN_SNDBUF), capped by wmem_max; wake writers if it grew
        sk.sk_sndbuf = Math.max(Math.min(val, k.sysctl.wmem_max) * 2, 4608);
        sk.sk_write_space(k, sk);
        return 0;
      case SO_RCVBUF:
        // sk_rcvbuf = max(val * 2, SOCK_MIN_RCVBUF), capped by rmem_max
        sk.sk_rcvbuf = Math.max(Math.min(val, k.sysctl.rmem_max) * 2, 2304);
        return 0;
      case SO_RCVLOWAT:
        sk.sk_rcvlowat = val ? val : 1;
        return 0;
      case SO_RCVTIMEO:
        // sock_set_timeout: negative -> 0 (non-blocking); {0,0} -> MAX_SCHEDULE_TIMEOUT;
        // otherwise rounded up to whole jiffies
        if (val < 0) sk.sk_rcvtimeo = 0;
        else if (val === 0) sk.sk_rcvtimeo = MAX_SCHEDULE_TIMEOUT;
        else sk.sk_rcvtimeo = Math.ceil(val / JIFFY_NS) * JIFFY_NS;
        return 0;
      default:
        return -ENOPROTOOPT;
    }
  } finally {
    k.tr?.exit();
  }
}

// ---- recvmsg (net/socket.c: SYSC_recvmsg -> __sys_recvmsg -> ___sys_recvmsg) ----

/** struct iovec (include/uapi/linux/uio.h): iov_base is a user buffer (uaccess.ts). */
export interface Iovec {
  iov_base: UserPtr<unknown>;
  iov_len: number;
}

/** struct user_msghdr (include/linux/socket.h), as the user passes it to recvmsg. The kernel
 *  writes back msg_namelen (the address length), msg_controllen (ancillary bytes) and msg_flags. */
export interface UserMsghdr {
  /** The sockaddr buffer or NULL; the kernel stores the peer's address in it. */
  msg_name: UserPtr<Record<string, unknown>>;
  msg_namelen: number;
  msg_iov: UserPtr<Iovec[]>;
  msg_iovlen: number;
  msg_control: UserPtr<unknown>;
  msg_controllen: number;
  msg_flags: number;
}

/** include/uapi/linux/uio.h: UIO_MAXIOV; fs/read_write.c: MAX_RW_COUNT; sizeof(sockaddr_storage). */
export const UIO_MAXIOV = 1024;
export const MAX_RW_COUNT = 0x7ffff000;
const SOCKADDR_STORAGE = 128;
/** include/linux/socket.h: more recvmsg flags (MSG_OOB is in udp_send.ts). */
export const MSG_CTRUNC = 0x8;
export const MSG_ERRQUEUE = 0x2000;
export const MSG_CMSG_CLOEXEC = 0x40000000;

/** copy_msghdr_from_user(kmsg, umsg, &uaddr, &iov) -> import_iovec -> rw_copy_check_uvector:
 *  the user's msghdr and iovec array into the kernel; -EFAULT, -EINVAL or -EMSGSIZE. */
function copy_msghdr_from_user(k: Kernel, umsg: UserPtr<UserMsghdr>, kmsg: Msghdr): number {
  if (!access_ok(umsg) || copyFaults(umsg)) return -EFAULT; // access_ok + __get_user of each field
  const uaddr = umsg.msg_name;
  let namelen = uaddr === null ? 0 : umsg.msg_namelen;
  if (namelen < 0) return -EINVAL;
  if (namelen > SOCKADDR_STORAGE) namelen = SOCKADDR_STORAGE;
  if (!(uaddr && namelen)) kmsg.msg_name = null; // no address wanted
  kmsg.msg_namelen = namelen;
  const nr_segs = umsg.msg_iovlen >>> 0; // size_t
  if (nr_segs > UIO_MAXIOV) return -EMSGSIZE;
  // import_iovec -> rw_copy_check_uvector
  if (nr_segs === 0) {
    kmsg.msg_iter.count = 0;
    return 0;
  }
  if (copyFaults(umsg.msg_iov) || umsg.msg_iov.length < nr_segs) return -EFAULT; // copy_from_user(iov)
  let ret = 0;
  let fault: boolean | undefined;
  for (let seg = 0; seg < nr_segs; seg++) {
    const { iov_base, iov_len } = umsg.msg_iov[seg];
    if (iov_len < 0) return -EINVAL; // (ssize_t)len < 0
    if (!access_ok(iov_base)) return -EFAULT; // access_ok(vrfy_dir(type), buf, len)
    ret += Math.min(iov_len, MAX_RW_COUNT - ret); // the total is capped at MAX_RW_COUNT
    // Model: whether the first byte's copy faults (the first non-empty segment is unmapped); a
    // fault part-way through the segments (a partial copy) is not modelled
    if (fault === undefined && iov_len > 0) fault = copyFaults(iov_base);
  }
  kmsg.msg_iter.count = ret;
  kmsg.msg_iter.fault = fault ?? false;
  k.tr?.leaf(`copy_msghdr_from_user(msg_sys, msg, &uaddr, &iov): ${nr_segs} iovec, ${ret} bytes`, undefined, "copy_msghdr_from_user");
  return 0;
}

/** ___sys_recvmsg(sock, msg, msg_sys, flags, nosec): copy the msghdr in, sock_recvmsg, then the
 *  address (move_addr_to_user), msg_flags and msg_controllen back out. */
function* ___sys_recvmsg(k: Kernel, sock: Socket, msg: UserPtr<UserMsghdr>, flags: number, iter: IovIter): KGen<number> {
  k.tr?.enter("___sys_recvmsg", "___sys_recvmsg(sock, msg, &msg_sys, flags, 0)");
  try {
    const addr: SockaddrIn = { sin_family: 0, sin_port: 0, sin_addr: "" }; // struct sockaddr_storage addr
    const msg_sys: Msghdr = { msg_flags: 0, msg_iter: iter, msg_name: addr, msg_namelen: 0 };
    // MSG_CMSG_COMPAT (a 32-bit caller's get_compat_msghdr) is not modelled: always the 64-bit layout
    const err0 = copy_msghdr_from_user(k, msg, msg_sys);
    if (err0 < 0) return err0;
    const umsg = msg as UserMsghdr;
    const uaddr = umsg.msg_name;
    const total_len = iter.count;
    msg_sys.msg_flags = flags & MSG_CMSG_CLOEXEC;
    msg_sys.msg_namelen = 0; // every protocol knows sockaddr_storage's size
    if (sock.file!.f_flags & O_NONBLOCK) flags |= MSG_DONTWAIT;
    const len = yield* sock_recvmsg(k, sock, msg_sys, total_len, flags);
    if (len < 0) return len;
    if (uaddr !== null) {
      // move_addr_to_user(&addr, msg_sys->msg_namelen, uaddr, uaddr_len)
      const klen = msg_sys.msg_namelen ?? 0;
      let ulen = umsg.msg_namelen;
      if (ulen > klen) ulen = klen;
      if (ulen < 0) return -EINVAL;
      if (ulen) {
        if (copyFaults(uaddr)) return -EFAULT;
        Object.assign(uaddr, addr);
      }
      umsg.msg_namelen = klen; // "fromlen shall refer to the value before truncation"
    }
    umsg.msg_flags = msg_sys.msg_flags; // __put_user(msg_sys->msg_flags & ~MSG_CMSG_COMPAT)
    umsg.msg_controllen = 0; // msg_control - cmsg_ptr: the model's protocols put no cmsg
    return len;
  } finally {
    k.tr?.exit();
  }
}

/** SYSCALL_DEFINE3(recvmsg, fd, msg, flags) -> __sys_recvmsg: the fd first (-EBADF, -ENOTSOCK),
 *  then ___sys_recvmsg. */
export function* SYSC_recvmsg(k: Kernel, fd: number, msg: UserPtr<UserMsghdr>, flags: number, iter: IovIter): KGen<number> {
  k.tr?.enter("SYSC_recvmsg", `SYSC_recvmsg(fd = ${fd}, msg, flags = 0x${(flags >>> 0).toString(16)})`);
  try {
    // MSG_CMSG_COMPAT is not accepted from user space (SYSCALL_DEFINE3(recvmsg) returns -EINVAL);
    // the model has no 32-bit callers either
    if (flags & 0x80000000) return -EINVAL;
    const sock = sockfd_lookup_light(k, fd);
    if (typeof sock === "number") return sock;
    return yield* ___sys_recvmsg(k, sock, msg, flags, iter);
  } finally {
    k.tr?.exit();
  }
}
