#include "agent/netsetup/nl_handle.h"

#include <netlink/errno.h>

#include <cerrno>
#include <cstdlib>

namespace wb::netsetup {

Result<NlSocket> open_route_socket() {
  NlSocket sock(nl_socket_alloc());
  if (!sock) return make_error(std::errc::not_enough_memory, "allocate netlink socket");
  int err = nl_connect(sock.get(), NETLINK_ROUTE);
  if (err < 0) return nl_error(err, "connect rtnetlink socket");
  return sock;
}

int nl_errno(int nl_error) {
  switch (std::abs(nl_error)) {
    case NLE_SUCCESS:
      return 0;
    case NLE_INTR:
      return EINTR;
    case NLE_BAD_SOCK:
      return EBADF;
    case NLE_AGAIN:
      return EAGAIN;
    case NLE_NOMEM:
      return ENOMEM;
    case NLE_EXIST:
      return EEXIST;
    case NLE_INVAL:
      return EINVAL;
    case NLE_RANGE:
      return ERANGE;
    case NLE_OPNOTSUPP:
      return EOPNOTSUPP;
    case NLE_AF_NOSUPPORT:
      return EAFNOSUPPORT;
    case NLE_OBJ_NOTFOUND:
      return ENOENT;
    case NLE_NOATTR:
      return ENOENT;
    case NLE_NOADDR:
      return EADDRNOTAVAIL;
    case NLE_NOACCESS:
      return EACCES;
    case NLE_PERM:
      return EPERM;
    case NLE_BUSY:
      return EBUSY;
    case NLE_NODEV:
      return ENODEV;
    case NLE_PROTO_MISMATCH:
      return EPROTONOSUPPORT;
    case NLE_MSGSIZE:
      return EMSGSIZE;
    default:
      return EIO;
  }
}

Error nl_error(int nl_error, std::string context) {
  return errno_error(nl_errno(nl_error), std::move(context));
}

}  // namespace wb::netsetup
