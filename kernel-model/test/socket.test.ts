import { describe, expect, it } from "vitest";
import {
  AF_INET, AF_INET6, EAFNOSUPPORT, EACCES, EBADF, EINVAL, EMFILE, EPERM, EPROTONOSUPPORT, ESOCKTNOSUPPORT,
  IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_NONBLOCK, SOCK_PACKET, SOCK_RAW,
  SOCK_SEQPACKET, SOCK_STREAM, O_NONBLOCK, SS_UNCONNECTED, TCP_CLOSE, sock_def_readable, tcp_prot, udp_prot,
  inet_stream_ops, inet_dgram_ops, socket_file_ops, type Socket, type Kernel,
} from "kernel-model";
import { runApp } from "./helpers";

/** What a socket() call leaves allocated: fds, sockets, socks, files with references. */
function footprint(k: Kernel) {
  const p = k.tasks[0];
  return { fds: p.files.fd.filter(Boolean).length, next_fd: p.files.next_fd, sockets: k.sockets_in_use, socks: k.socks_alive };
}

describe("socket(): the object graph of §3.2", () => {
  it("TCP: fd -> file(socket_file_ops) -> socket(inet_stream_ops) -> sock(tcp_prot), one shared wait queue", () => {
    const { k, task, result: fd } = runApp(function* (sys) {
      return yield* sys.socket(AF_INET, SOCK_STREAM, 0);
    });
    expect(fd).toBe(3); // 0, 1, 2 are the terminal
    const file = task.files.fd[fd]!;
    expect(file.f_op).toBe(socket_file_ops);
    expect(file.name).toBe("TCP");
    const sock = file.private_data as Socket;
    expect(sock.file).toBe(file);
    expect(sock.state).toBe(SS_UNCONNECTED);
    expect(sock.ops).toBe(inet_stream_ops);
    const sk = sock.sk!;
    expect(sk.sk_prot).toBe(tcp_prot);
    expect(sk.sk_socket).toBe(sock);
    expect(sk.sk_wq).toBe(sock.wq); // sk_sleep(sk) == &sock->wq->wait
    expect(sk.sk_data_ready).toBe(sock_def_readable);
    expect(sk.sk_state).toBe(TCP_CLOSE);
    expect(sk.sk_protocol).toBe(IPPROTO_TCP); // protocol 0 took the entry's protocol
    expect([sk.sk_sndbuf, sk.sk_rcvbuf]).toEqual([16384, 87380]); // tcp_init_sock: tcp_wmem[1], tcp_rmem[1]
    expect(sk.sk_rcvlowat).toBe(1);
    expect(k.sockets_in_use).toBe(1);
  });

  it("UDP: inet_dgram_ops and udp_prot, rcvbuf = rmem_default; fds are allocated lowest-first", () => {
    const { task, result } = runApp(function* (sys) {
      const a = yield* sys.socket(AF_INET, SOCK_DGRAM, 0);
      const b = yield* sys.socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
      yield* sys.close(a);
      const c = yield* sys.socket(AF_INET, SOCK_DGRAM, 0);
      return [a, b, c];
    });
    expect(result).toEqual([3, 4, 3]);
    const sock = task.files.fd[4]!.private_data as Socket;
    expect(sock.ops).toBe(inet_dgram_ops);
    expect(sock.sk!.sk_prot).toBe(udp_prot);
    expect(sock.sk!.sk_rcvbuf).toBe(212992);
  });

  it("SOCK_NONBLOCK sets O_NONBLOCK on the file", () => {
    const { task, result: fd } = runApp(function* (sys) {
      return yield* sys.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    });
    expect(task.files.fd[fd]!.f_flags & O_NONBLOCK).toBe(O_NONBLOCK);
  });

  it("close() of the last fd frees the file, the socket and the sock; a second close is EBADF", () => {
    const { k, result } = runApp(function* (sys) {
      const fd = yield* sys.socket(AF_INET, SOCK_STREAM, 0);
      return [yield* sys.close(fd), yield* sys.close(fd)];
    });
    expect(result).toEqual([0, -EBADF]);
    expect(k.sockets_in_use).toBe(0);
    expect(k.socks_alive).toBe(0);
  });

  it("dup() shares the struct file: the socket lives until the last fd is closed", () => {
    const { k, result } = runApp(function* (sys, k) {
      const fd = yield* sys.socket(AF_INET, SOCK_DGRAM, 0);
      const fd2 = yield* sys.dup(fd);
      yield* sys.close(fd);
      const alive = k.sockets_in_use;
      yield* sys.close(fd2);
      return [fd2, alive, k.sockets_in_use];
    });
    expect(result).toEqual([4, 1, 0]);
    expect(k.stats.filesFreed).toBe(1);
  });
});

// Reference §5, socket(family, type, protocol), in the kernel's check order.
const ERRNO_ROWS: [string, number, number, number, number][] = [
  ["unknown flag bits in type", AF_INET, SOCK_STREAM | 0x10, 0, -EINVAL],
  ["unknown flags win over a bad family (checked first)", -1, SOCK_STREAM | 0x10, 0, -EINVAL],
  ["family < 0", -1, SOCK_STREAM, 0, -EAFNOSUPPORT],
  ["family >= NPROTO (42)", 42, SOCK_STREAM, 0, -EAFNOSUPPORT],
  ["a bad family wins over a bad type", 42, 11, 0, -EAFNOSUPPORT],
  ["type >= SOCK_MAX (11)", AF_INET, 11, 0, -EINVAL],
  ["type 15", AF_INET, 15, 0, -EINVAL],
  ["family in range, not registered (AF_INET6 in this model)", AF_INET6, SOCK_STREAM, 0, -EAFNOSUPPORT],
  ["PF_INET + SOCK_PACKET -> PF_PACKET, not registered", AF_INET, SOCK_PACKET, 0, -EAFNOSUPPORT],
  ["protocol < 0", AF_INET, SOCK_STREAM, -1, -EINVAL],
  ["protocol >= IPPROTO_MAX (256)", AF_INET, SOCK_STREAM, 256, -EINVAL],
  ["type 0: empty inetsw list", AF_INET, 0, 0, -ESOCKTNOSUPPORT],
  ["SOCK_SEQPACKET without SCTP", AF_INET, SOCK_SEQPACKET, 0, -ESOCKTNOSUPPORT],
  ["SOCK_STREAM + IPPROTO_UDP", AF_INET, SOCK_STREAM, IPPROTO_UDP, -EPROTONOSUPPORT],
  ["SOCK_DGRAM + IPPROTO_TCP", AF_INET, SOCK_DGRAM, IPPROTO_TCP, -EPROTONOSUPPORT],
  ["SOCK_STREAM + 99", AF_INET, SOCK_STREAM, 99, -EPROTONOSUPPORT],
  ["SOCK_RAW without CAP_NET_RAW", AF_INET, SOCK_RAW, 1, -EPERM],
  ["SOCK_DGRAM + IPPROTO_ICMP: ping_group_range '1 0'", AF_INET, SOCK_DGRAM, IPPROTO_ICMP, -EACCES],
];

describe("socket() errors: 4.6.2's errno and check order, nothing left half-built", () => {
  for (const [what, family, type, protocol, want] of ERRNO_ROWS) {
    it(`${what} -> ${want}`, () => {
      const { k, result } = runApp(function* (sys, k) {
        const before = footprint(k);
        const r = yield* sys.socket(family, type, protocol);
        return { r, before, after: footprint(k) };
      });
      expect(result.r).toBe(want);
      expect(result.after).toEqual(result.before); // no leaked fd, socket or sock
      expect(k.socketsCreated).toBeLessThanOrEqual(1);
    });
  }

  it("SOCK_RAW with CAP_NET_RAW succeeds (any protocol, via the wildcard entry)", () => {
    const { result } = runApp(function* (sys) {
      return yield* sys.socket(AF_INET, SOCK_RAW, 99);
    }, { CAP_NET_RAW: true });
    expect(result).toBe(3);
  });

  it("EMFILE at RLIMIT_NOFILE: the socket built before sock_map_fd failed is released", () => {
    const { k, task, result } = runApp(function* (sys) {
      sys.task.files.rlimit_nofile = 5;
      const fds: number[] = [];
      for (let i = 0; i < 3; i++) fds.push(yield* sys.socket(AF_INET, SOCK_DGRAM, 0));
      return fds;
    });
    expect(result).toEqual([3, 4, -EMFILE]);
    expect(k.sockets_in_use).toBe(2);
    expect(k.socks_alive).toBe(2);
    expect(task.files.next_fd).toBe(5);
  });
});
