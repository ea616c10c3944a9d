#!/bin/sh
# INSTANTIATE: run the iperf server in the background
set -e
nohup iperf -s > /var/log/iperf-server.log 2>&1 &
