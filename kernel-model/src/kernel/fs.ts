// fs.ts: struct file, the per-process fd table, close/dup, and the read() entry.
// Linux 4.6.2: fs/file.c, fs/file_table.c, fs/open.c, fs/read_write.c, include/linux/fs.h.
// Book: §3.2 (fd -> file -> socket), §3.3 (read -> vfs_read -> ... -> f_op->read_iter).
//
// Interface:
// * get_unused_fd_flags: the lowest free fd at or above files->next_fd; fd >= RLIMIT_NOFILE
//   -> -EMFILE. fd_install(fd, file); put_unused_fd(fd) on an error path.
// * fdget(fd) -> File | null; get_file (f_count++), fput (f_count--, __fput on the last one:
//   eventpoll_release, then f_op->release).
// * SYSC_close, SYSC_dup, SYSC_read (vfs_read -> __vfs_read -> new_sync_read -> f_op->read_iter).
//
// Model vs kernel:
// * __fput runs at once on the last fput; Linux defers it to task_work on return to user
//   space (the effect on epoll, eventpoll_release, is the same, just a little later).
// * No inodes, dentries or mounts beyond a name; no file-max limit (ENFILE is not modelled).

import type { Kernel } from "./kernel";
import { returnNow, tailCall, type KGen } from "./sched";
import { EBADF, EFAULT, EINVAL, EMFILE } from "./errno";
import { smallList } from "./list";
import { access_ok, copyFaults, USER_BUF, type UserPtr } from "./uaccess";

// include/uapi/asm-generic/fcntl.h
export const O_RDONLY = 0o0;
export const O_WRONLY = 0o1;
export const O_RDWR = 0o2;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;
// include/linux/fs.h
export const FMODE_READ = 0x1;
export const FMODE_WRITE = 0x2;
export const FMODE_CAN_READ = 0x20000;

/** What read_iter copies into: the user's buffer (iov_iter) plus the model's bookkeeping. */
export interface IovIter {
  /** Bytes the caller asked for (iov_iter_count before copying). */
  count: number;
  /** Model: data units whose last byte was copied by this call (for end-to-end latency). */
  consumed: unknown[];
  /** Model: the user buffer passed access_ok but is unmapped (uaccess.ts UNMAPPED_ADDR), so
   *  the first copy_to_user of a byte (skb_copy_datagram_msg) faults. */
  fault?: boolean;
}

/** struct kiocb (include/linux/fs.h). */
export interface Kiocb {
  ki_filp: File;
  ki_pos: number;
}

/** struct poll_table_struct (include/linux/poll.h): _qproc is called by poll_wait. */
export interface PollTable {
  _qproc: ((k: Kernel, file: File, whead: import("./wait").WaitQueueHead, pt: PollTable) => void) | null;
  _key: number;
  /** Model: the owner (ep_pqueue's epitem) that container_of would find. */
  owner: unknown;
}

/** struct file_operations (include/linux/fs.h): only the entries this chapter uses. */
export interface FileOperations {
  /** Name for traces/diagrams: "socket_file_ops", "eventpoll_fops". */
  name: string;
  read_iter: ((k: Kernel, iocb: Kiocb, to: IovIter) => KGen<number>) | null;
  /** write(2)'s way in for sockets (sock_write_iter); absent: -EINVAL. */
  write_iter?: ((k: Kernel, iocb: Kiocb, from: IovIter) => KGen<number>) | null;
  poll: ((k: Kernel, file: File, pt: PollTable | null) => number) | null;
  release: ((k: Kernel, file: File) => void) | null;
}

/** struct file (include/linux/fs.h). */
export interface File {
  /** Model: a serial number standing in for the struct's address (ep_cmp_ffd orders by it). */
  id: number;
  f_op: FileOperations;
  /** struct socket for sockets, struct eventpoll for epoll files. */
  private_data: unknown;
  f_flags: number;
  f_mode: number;
  /** References: one per fd that points here, plus temporary ones (fdget in a syscall). */
  f_count: number;
  /** f_ep_links: the epitems watching this file (eventpoll_release walks it on the last fput). */
  f_ep_links: unknown[];
  /** d_name of the dentry: "TCP", "UDP", "[eventpoll]". */
  name: string;
}

/** struct files_struct + fdtable (include/linux/fdtable.h). */
export interface FilesStruct {
  fd: (File | null)[];
  /** open_fds bitmap: a slot can be reserved (get_unused_fd_flags) before fd_install. */
  open_fds: boolean[];
  /** close_on_exec bitmap: set by O_CLOEXEC / SOCK_CLOEXEC / EPOLL_CLOEXEC at allocation or by
   *  fcntl(F_SETFD, FD_CLOEXEC); cleared when the fd is allocated without it or closed. */
  close_on_exec: boolean[];
  next_fd: number;
  /** RLIMIT_NOFILE (soft). Default 1024, as `ulimit -n`. */
  rlimit_nofile: number;
  /** Tasks sharing this table (threads: CLONE_FILES). */
  count: number;
}

/** A new fd table. A user process starts with fds 0, 1, 2 open on its terminal. */
export function newFiles(tty: File | null, rlimit_nofile = 1024): FilesStruct {
  const files: FilesStruct = { fd: [], open_fds: [], close_on_exec: [], next_fd: 0, rlimit_nofile, count: 1 };
  if (tty) {
    for (let fd = 0; fd < 3; fd++) {
      files.fd[fd] = get_file(tty);
      files.open_fds[fd] = true;
    }
    files.next_fd = 3;
  }
  return files;
}

/** tty_fops (drivers/tty/tty_io.c), reduced: the terminal behind fds 0-2. Not a socket. */
export const tty_fops: FileOperations = { name: "tty_fops", read_iter: null, poll: null, release: null };

/** alloc_file: a new struct file with one reference. */
export function alloc_file(k: Kernel, name: string, mode: number, fop: FileOperations, private_data: unknown): File {
  k.tr?.leaf(`file = alloc_file(&path, FMODE_READ | FMODE_WRITE, &${fop.name})`, undefined, "alloc_file");
  if (mode & FMODE_READ && fop.read_iter) mode |= FMODE_CAN_READ;
  return { id: k.nextFileId++, f_op: fop, private_data, f_flags: 0, f_mode: mode, f_count: 1, f_ep_links: smallList(), name };
}

/** __alloc_fd via get_unused_fd_flags: lowest free fd >= next_fd, below RLIMIT_NOFILE. */
export function get_unused_fd_flags(k: Kernel, flags: number): number {
  const files = k.current.files;
  let fd = files.next_fd;
  while (files.open_fds[fd]) fd++;
  if (fd >= files.rlimit_nofile) {
    k.tr?.leaf(`get_unused_fd_flags(flags) = -EMFILE`, "no free fd below RLIMIT_NOFILE", "get_unused_fd_flags");
    return -EMFILE;
  }
  files.open_fds[fd] = true;
  files.next_fd = fd + 1;
  files.close_on_exec[fd] = (flags & O_CLOEXEC) !== 0; // __set_close_on_exec / __clear_close_on_exec
  k.tr?.leaf(`fd = get_unused_fd_flags(flags) = ${fd}`, "lowest free fd", "get_unused_fd_flags");
  return fd;
}

/** put_unused_fd: give back a reserved fd on an error path. */
export function put_unused_fd(k: Kernel, fd: number): void {
  const files = k.current.files;
  files.open_fds[fd] = false;
  if (fd < files.next_fd) files.next_fd = fd;
}

export function fd_install(k: Kernel, fd: number, file: File): void {
  k.tr?.leaf(`fd_install(${fd}, file)`, undefined, "fd_install");
  k.current.files.fd[fd] = file;
}

/** fdget(fd): the file behind fd, or null (the caller returns -EBADF). */
export function fdget(k: Kernel, fd: number): File | null {
  const files = k.current.files;
  return (fd >= 0 && files.fd[fd]) || null;
}

export function get_file(file: File): File {
  file.f_count++;
  return file;
}

/** fput: drop a reference; the last one runs __fput. */
export function fput(k: Kernel, file: File): void {
  if (--file.f_count === 0) __fput(k, file);
}

/** __fput: eventpoll_release (unhook every epitem watching the file), then f_op->release. */
function __fput(k: Kernel, file: File): void {
  k.tr?.enter("__fput", "__fput(file)", "last reference dropped");
  if (file.f_ep_links.length > 0) k.eventpoll_release?.(k, file); // include/linux/eventpoll.h
  file.f_op.release?.(k, file);
  k.stats.filesFreed++;
  k.tr?.exit();
}

/** SYSC_close -> __close_fd -> filp_close -> fput. */
export function* SYSC_close(k: Kernel, fd: number): KGen<number> {
  k.tr?.enter("SYSC_close", `SYSC_close(fd = ${fd})`);
  try {
    const files = k.current.files;
    const file = fdget(k, fd);
    if (!file) return -EBADF;
    files.fd[fd] = null;
    files.close_on_exec[fd] = false; // __clear_close_on_exec
    put_unused_fd(k, fd);
    k.tr?.leaf("filp_close(file, files) -> fput(file)", undefined, "filp_close");
    fput(k, file);
    return 0;
  } finally {
    k.tr?.exit();
  }
}

/** SYSC_dup: a second fd for the same struct file (f_count++). */
export function* SYSC_dup(k: Kernel, oldfd: number): KGen<number> {
  k.tr?.enter("SYSC_dup", `SYSC_dup(fildes = ${oldfd})`);
  try {
    const file = fdget(k, oldfd);
    if (!file) return -EBADF;
    const fd = get_unused_fd_flags(k, 0);
    if (fd < 0) return fd;
    fd_install(k, fd, get_file(file));
    return fd;
  } finally {
    k.tr?.exit();
  }
}

/** Close every fd of an exiting task (exit_files). */
export function exit_files(k: Kernel): void {
  const files = k.current.files;
  if (--files.count > 0) return; // another thread still uses the table
  for (let fd = 0; fd < files.fd.length; fd++) {
    const file = files.fd[fd];
    if (file) {
      files.fd[fd] = null;
      files.open_fds[fd] = false;
      fput(k, file);
    }
  }
  files.next_fd = 0;
}

/** SYSC_read(fd, buf, count) -> vfs_read. Book: §3.3 (the seed's second trace). */
// The read chain is tail calls (sched.ts tailCall): each function ends by returning its
// callee's generator, so only the function that sleeps (tcp_recvmsg, ...) is a frame.
export function SYSC_read(k: Kernel, fd: number, count: number, iter: IovIter, buf: UserPtr<unknown> = USER_BUF): KGen<number> {
  k.tr?.enter("SYSC_read", `SYSC_read(fd = ${fd}, buf, count = ${count})`);
  const file = fdget(k, fd); // fdget_pos
  if (!file) return returnNow(k, -EBADF);
  return tailCall(k, vfs_read(k, file, count, iter, buf));
}

export function vfs_read(k: Kernel, file: File, count: number, iter: IovIter, buf: UserPtr<unknown> = USER_BUF): KGen<number> {
  k.tr?.enter("vfs_read", "vfs_read(f.file, buf, count, &pos)");
  if (!(file.f_mode & FMODE_READ)) return returnNow(k, -EBADF);
  if (!(file.f_mode & FMODE_CAN_READ)) return returnNow(k, -EINVAL);
  if (!access_ok(buf)) return returnNow(k, -EFAULT); // access_ok(VERIFY_WRITE, buf, count)
  if (buf !== USER_BUF) iter.fault = copyFaults(buf); // NULL or unmapped: the copy (skb_copy_datagram_msg) faults
  return tailCall(k, __vfs_read(k, file, count, iter));
}

export function __vfs_read(k: Kernel, file: File, count: number, iter: IovIter): KGen<number> {
  k.tr?.enter("__vfs_read", "__vfs_read(file, buf, count, pos)");
  // f_op->read is NULL for sockets: the read_iter path
  return tailCall(k, new_sync_read(k, file, count, iter));
}

export function new_sync_read(k: Kernel, file: File, count: number, iter: IovIter): KGen<number> {
  k.tr?.enter("new_sync_read", "new_sync_read(file, buf, count, pos)");
  const iocb: Kiocb = { ki_filp: file, ki_pos: 0 }; // init_sync_kiocb
  iter.count = count; // iov_iter_init(&iter, READ, &iov, 1, len)
  if (!file.f_op.read_iter) return returnNow(k, -EINVAL);
  return tailCall(k, file.f_op.read_iter(k, iocb, iter));
}

/** SYSC_write(fd, buf, count) -> vfs_write -> __vfs_write -> new_sync_write -> f_op->write_iter.
 *  Linux 4.6.2: fs/read_write.c. FMODE_CAN_WRITE: the file has f_op->write or ->write_iter. */
export function* SYSC_write(k: Kernel, fd: number, count: number): KGen<number> {
  k.tr?.enter("SYSC_write", `SYSC_write(fd = ${fd}, buf, count = ${count})`);
  try {
    const file = fdget(k, fd); // fdget_pos
    if (!file) return -EBADF;
    k.tr?.enter("vfs_write", "vfs_write(f.file, buf, count, &pos)");
    try {
      if (!(file.f_mode & FMODE_WRITE)) return -EBADF;
      if (!file.f_op.write_iter) return -EINVAL; // !(file->f_mode & FMODE_CAN_WRITE)
      k.tr?.enter("__vfs_write", "__vfs_write(file, buf, count, pos)");
      k.tr?.enter("new_sync_write", "new_sync_write(file, buf, count, pos)");
      const iocb: Kiocb = { ki_filp: file, ki_pos: 0 }; // init_sync_kiocb
      const iter: IovIter = { count, consumed: [] }; // iov_iter_init(&iter, WRITE, &iov, 1, len)
      const r = yield* file.f_op.write_iter(k, iocb, iter);
      k.tr?.exit();
      k.tr?.exit();
      return r;
    } finally {
      k.tr?.exit();
    }
  } finally {
    k.tr?.exit();
  }
}

// include/uapi/asm-generic/fcntl.h
export const F_GETFD = 1;
export const F_SETFD = 2;
export const F_GETFL = 3;
export const F_SETFL = 4;

/** include/uapi/asm-generic/fcntl.h: the one fd flag. */
export const FD_CLOEXEC = 1;

/** SYSCALL_DEFINE3(fcntl) -> do_fcntl (fs/fcntl.c): F_GETFD / F_SETFD (the close_on_exec bit:
 *  get_close_on_exec, set_close_on_exec(fd, arg & FD_CLOEXEC)), F_GETFL, F_SETFL (only
 *  O_NONBLOCK changes, as setfl() allows); other commands -EINVAL. */
export function SYSC_fcntl(k: Kernel, fd: number, cmd: number, arg: number): number {
  k.tr?.enter("SYSC_fcntl", `SYSC_fcntl(fd = ${fd}, cmd = ${cmd}, 0x${arg.toString(16)})`);
  try {
    const file = fdget(k, fd);
    if (!file) return -EBADF; // fdget_raw
    const files = k.current.files;
    if (cmd === F_GETFD) return files.close_on_exec[fd] ? FD_CLOEXEC : 0;
    if (cmd === F_SETFD) {
      files.close_on_exec[fd] = (arg & FD_CLOEXEC) !== 0;
      return 0;
    }
    if (cmd === F_GETFL) return file.f_flags;
    if (cmd === F_SETFL) {
      file.f_flags = (file.f_flags & ~O_NONBLOCK) | (arg & O_NONBLOCK);
      return 0;
    }
    return -EINVAL;
  } finally {
    k.tr?.exit();
  }
}
