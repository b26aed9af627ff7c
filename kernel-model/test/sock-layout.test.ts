// sock-layout.test.ts: the memory layout of an idle connection (issue 11) keeps each sock's
// queues its own. Every sock starts with one shared, frozen empty queue (list.ts emptyQueue)
// that is replaced by an array at the first skb; a socket's wq->wait is the wq itself.
// These checks fail if a queue is shared between socks, or if the name or wait head changes.
import { describe, expect, it } from "vitest";
import { Kernel, TcpPeer, AF_INET, SOCK_STREAM, type Sock, type Socket, type File } from "kernel-model";

/** The shared empty queue is the frozen one (list.ts emptyQueue); a sock's own array is not. */
const isEmptyQueue = (q: readonly unknown[]): boolean => Object.isFrozen(q) && q.length === 0;

function sockOf(k: Kernel, task: { files: { fd: (File | null)[] } }, fd: number): Sock {
  return (task.files.fd[fd]!.private_data as Socket).sk!;
}

describe("an idle connection's queues (allocated on first use)", () => {
  it("data for one connection lands in its own receive queue; the idle one still holds the shared empty queue", () => {
    const k = new Kernel();
    const fds: number[] = [];
    const srv = k.spawn("server", function* (sys) {
      const lfd = yield* sys.socket(AF_INET, SOCK_STREAM, 0);
      yield* sys.bind(lfd, 80);
      yield* sys.listen(lfd, 128);
      fds.push(yield* sys.accept(lfd), yield* sys.accept(lfd));
      yield* sys.pause();
    });
    const a = new TcpPeer(k, { dport: 80 }).connect(1_000_000);
    new TcpPeer(k, { dport: 80 }).connect(1_100_000);
    a.send(100, 3_000_000);
    k.run(5_000_000);
    const busy = sockOf(k, srv, fds[0]);
    const idle = sockOf(k, srv, fds[1]);
    expect(busy.sk_receive_queue).toHaveLength(1);
    expect(isEmptyQueue(busy.sk_receive_queue)).toBe(false);
    expect(idle.sk_receive_queue).toHaveLength(0);
    expect(isEmptyQueue(idle.sk_receive_queue)).toBe(true);
    expect(isEmptyQueue(idle.sk_backlog.queue)).toBe(true);
  });

  it("a socket's wq->wait is its socket_wq, named for traces only when read", () => {
    const k = new Kernel();
    let fd = -1;
    const p = k.spawn("s", function* (sys) {
      fd = yield* sys.socket(AF_INET, SOCK_STREAM, 0);
      yield* sys.pause();
    });
    k.run(1_000_000);
    const sock = p.files.fd[fd]!.private_data as Socket;
    expect(sock.wq.wait).toBe(sock.wq);
    expect(sock.wq.wait.name).toMatch(/^sock\d+->wq->wait$/);
    expect(sock.sk!.sk_wq).toBe(sock.wq);
  });
});
