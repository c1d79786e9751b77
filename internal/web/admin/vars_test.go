package admin_test

import "net/netip"

var netipLoopback = netip.MustParseAddr("127.0.0.1")
