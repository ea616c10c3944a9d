#!/bin/sh
# CONFIGURE (after the server's INSTANTIATE): remember where the server is.
# The VNFM passes the server's address as $server_private.
set -e
echo "$server_private" > /etc/iperf-server-address
