// uaccess.ts: user pointers as the kernel checks them: access_ok, then the copy that may fault.
// Linux 4.6.2: arch/x86/include/asm/uaccess.h (access_ok, copy_from_user, copy_to_user,
// get_user/put_user). Book: — (the EFAULT paths of the syscalls; LTP's "bad address" cases).
//
// Interface: a user buffer argument is the JS value it holds, or one of two bad addresses:
// * KERNEL_ADDR: an address above TASK_SIZE_MAX, e.g. (void *)-1: access_ok() fails, so the
//   syscall returns -EFAULT at its access_ok, before it looks at anything later in its order.
// * UNMAPPED_ADDR: a user address with no mapping: access_ok() passes (it checks the range only)
//   and the copy faults, so -EFAULT comes where the copy is, after the earlier checks and work.
// * null is NULL: address 0, unmapped (a copy faults), unless the syscall gives NULL a meaning.
// access_ok(p), copyFaults(p) and isUserPtrBad(p) answer for any such argument.
//
// Model vs kernel: no address space beyond these two kinds of bad address and NULL; a good
// buffer is always large enough for what the syscall copies.

/** A bad user address: above TASK_SIZE_MAX (access_ok fails) or unmapped (the copy faults). */
export interface BadUserAddr {
  readonly badAddr: "kernel" | "unmapped";
}
export const KERNEL_ADDR: BadUserAddr = Object.freeze({ badAddr: "kernel" as const });
export const UNMAPPED_ADDR: BadUserAddr = Object.freeze({ badAddr: "unmapped" as const });

/** A good user buffer, the default of the syscalls that take one (its contents are not modelled). */
export const USER_BUF: object = Object.freeze({});

/** A user pointer to a T: the object, NULL, or a bad address. */
export type UserPtr<T> = T | null | BadUserAddr;

export function isBadAddr(p: unknown): p is BadUserAddr {
  return p === KERNEL_ADDR || p === UNMAPPED_ADDR;
}

/** access_ok(type, addr, size): the range lies below TASK_SIZE_MAX (NULL does). */
export function access_ok(p: unknown): boolean {
  return p !== KERNEL_ADDR;
}

/** Whether copy_from_user / copy_to_user / get_user on p faults (NULL and bad addresses do). */
export function copyFaults(p: unknown): p is null | BadUserAddr {
  return p === null || p === undefined || isBadAddr(p);
}

/** "NULL", "(void *)-1", "<unmapped>" or "ptr", for traces. */
export function userPtrName(p: unknown): string {
  if (p === null || p === undefined) return "NULL";
  if (p === KERNEL_ADDR) return "(void *)-1";
  if (p === UNMAPPED_ADDR) return "<unmapped>";
  return "ptr";
}
