// errno.ts: the errno values the model returns, as on x86-64 Linux.
// Linux 4.6.2: include/uapi/asm-generic/errno-base.h, errno.h, include/linux/errno.h.
// Syscalls in the model return a non-negative result or a negative errno, as the kernel does
// before libc turns it into -1 + errno.

export const EPERM = 1;
export const ENOENT = 2;
export const EINTR = 4;
export const EBADF = 9;
export const EAGAIN = 11;
export const EWOULDBLOCK = EAGAIN;
export const ENOMEM = 12;
export const EACCES = 13;
export const EFAULT = 14;
export const EEXIST = 17;
export const EINVAL = 22;
export const ENFILE = 23;
export const EMFILE = 24;
export const ESPIPE = 29;
export const EPIPE = 32;
export const EDOM = 33;
export const ELOOP = 40;
export const ENOTSOCK = 88;
export const EDESTADDRREQ = 89;
export const EMSGSIZE = 90;
export const EPROTOTYPE = 91;
export const ENOPROTOOPT = 92;
export const EPROTONOSUPPORT = 93;
export const ESOCKTNOSUPPORT = 94;
export const EOPNOTSUPP = 95;
export const EAFNOSUPPORT = 97;
export const EADDRINUSE = 98;
export const ENOBUFS = 105;
export const EISCONN = 106;
export const EADDRNOTAVAIL = 99;
export const ECONNABORTED = 103;
export const EALREADY = 114;
export const EINPROGRESS = 115;
export const ENOTCONN = 107;
export const ECONNRESET = 104;
export const ECONNREFUSED = 111;
export const ENOSPC = 28;
/** Kernel-internal: restart the syscall if the handler has SA_RESTART, else EINTR. */
export const ERESTARTSYS = 512;
/** Kernel-internal (include/linux/errno.h): restart only if no handler ran; a handler -> EINTR. */
export const ERESTARTNOHAND = 514;
/** Kernel-internal: restart through restart_block (poll, nanosleep); a handler -> EINTR. */
export const ERESTART_RESTARTBLOCK = 516;

const NAMES: Record<number, string> = {
  [EPERM]: "EPERM", [ENOENT]: "ENOENT", [EINTR]: "EINTR", [EBADF]: "EBADF", [EAGAIN]: "EAGAIN",
  [ENOMEM]: "ENOMEM", [EACCES]: "EACCES", [EFAULT]: "EFAULT", [EEXIST]: "EEXIST", [EINVAL]: "EINVAL",
  [ENFILE]: "ENFILE", [EMFILE]: "EMFILE", [ESPIPE]: "ESPIPE", [EPIPE]: "EPIPE", [EDOM]: "EDOM",
  [ELOOP]: "ELOOP", [ENOTSOCK]: "ENOTSOCK", [EDESTADDRREQ]: "EDESTADDRREQ", [EMSGSIZE]: "EMSGSIZE", [EPROTOTYPE]: "EPROTOTYPE", [ENOPROTOOPT]: "ENOPROTOOPT",
  [EPROTONOSUPPORT]: "EPROTONOSUPPORT", [ESOCKTNOSUPPORT]: "ESOCKTNOSUPPORT",
  [EOPNOTSUPP]: "EOPNOTSUPP", [EAFNOSUPPORT]: "EAFNOSUPPORT", [EADDRINUSE]: "EADDRINUSE",
  [ENOBUFS]: "ENOBUFS", [EISCONN]: "EISCONN", [EADDRNOTAVAIL]: "EADDRNOTAVAIL", [ECONNABORTED]: "ECONNABORTED", [EALREADY]: "EALREADY", [EINPROGRESS]: "EINPROGRESS", [ENOTCONN]: "ENOTCONN",
  [ECONNRESET]: "ECONNRESET", [ECONNREFUSED]: "ECONNREFUSED", [ENOSPC]: "ENOSPC",
  [ERESTARTSYS]: "ERESTARTSYS", [ERESTARTNOHAND]: "ERESTARTNOHAND", [ERESTART_RESTARTBLOCK]: "ERESTART_RESTARTBLOCK",
};

/** "-EAGAIN" for -11, the number itself for a non-negative result. */
export function errnoName(ret: number): string {
  return ret < 0 ? `-${NAMES[-ret] ?? `E${-ret}`}` : String(ret);
}
