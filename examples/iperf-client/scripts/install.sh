#!/bin/sh
# INSTANTIATE: install iperf
set -e
export DEBIAN_FRONTEND=noninteractive
apt-get update -q && apt-get install -y -q iperf
