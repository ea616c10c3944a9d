#!/bin/sh
# Called by ConVirt with the VM's vm_conf and image.conf; nfvo lists it and never runs it.
. "$(dirname "$0")/../common/functions"
create_disk "$ref_disk" "$hda_disk_size" "$hda_fs_type"
