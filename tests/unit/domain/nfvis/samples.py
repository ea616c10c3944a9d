"""Look-alike NFVIS packages, written here: a router, a firewall, a VNF with an ephemeral disk, a NoCloud VNF.

Each sample is a dict of member name -> bytes, package.mf included (built from the other
members by :func:`manifest`).
"""

from __future__ import annotations

import hashlib
import io
import struct
import tarfile
from pathlib import Path

ROUTER_PROPERTIES = """\
<?xml version="1.0" encoding="UTF-8"?>
<image_properties>
  <vnf_type>ROUTER</vnf_type>
  <name>edge-router</name>
  <version>17.3.1</version>
  <applicationVendor>Example Networks</applicationVendor>
  <imageType>virtualmachine</imageType>
  <bootup_time>600</bootup_time>
  <root_file_disk_bus>virtio</root_file_disk_bus>
  <root_image_disk_format>qcow2</root_image_disk_format>
  <vcpu_min>1</vcpu_min>
  <vcpu_max>8</vcpu_max>
  <memory_mb_min>4096</memory_mb_min>
  <memory_mb_max>8192</memory_mb_max>
  <root_disk_gb_min>8</root_disk_gb_min>
  <root_disk_gb_max>16</root_disk_gb_max>
  <vnic_max>8</vnic_max>
  <vnic_names>vnics:0:GigabitEthernet1,vnics:1:GigabitEthernet2</vnic_names>
  <mgmt_vnic>0</mgmt_vnic>
  <monitoring_supported>true</monitoring_supported>
  <monitoring_methods>ICMPPing</monitoring_methods>
  <low_latency>true</low_latency>
  <console_type_serial>true</console_type_serial>
  <profiles>
    <profile>
      <name>small</name>
      <description>2 vCPU, 4 GB</description>
      <vcpus>2</vcpus>
      <memory_mb>4096</memory_mb>
      <root_disk_mb>8192</root_disk_mb>
    </profile>
    <profile>
      <name>medium</name>
      <description>4 vCPU, 8 GB</description>
      <vcpus>4</vcpus>
      <memory_mb>8192</memory_mb>
      <root_disk_mb>16384</root_disk_mb>
    </profile>
  </profiles>
  <default_profile>small</default_profile>
  <bootstrap_file parse="true">iosxe_config.txt</bootstrap_file>
  <custom_property mandatory="true">
    <name display="Host name">HOSTNAME</name>
    <type>string</type>
    <val/>
  </custom_property>
  <custom_property>
    <name>TECH_PACKAGE</name>
    <type>selection</type>
    <val display="Advanced">ax</val>
    <val>security</val>
    <val>ipbase</val>
    <val>appx</val>
    <default>ax</default>
  </custom_property>
  <custom_property mandatory="true">
    <name>SSH_PASSWORD</name>
    <type>password</type>
  </custom_property>
  <custom_property>
    <name>SITE_ID</name>
    <type>uint</type>
    <default>100</default>
  </custom_property>
  <custom_property>
    <name>VBOND</name>
    <type>ipv4</type>
    <default>192.0.2.1</default>
  </custom_property>
</image_properties>
"""

ROUTER_CONFIG = """\
hostname ${HOSTNAME}
license boot level ${TECH_PACKAGE}
username admin privilege 15 secret ${SSH_PASSWORD}
interface GigabitEthernet1
 ip address ${NICID_0_IP_ADDRESS} ${NICID_0_NETMASK}
 no shutdown
ip route 0.0.0.0 0.0.0.0 ${NICID_0_GATEWAY}
! site ${SITE_ID} vbond ${VBOND}
"""

FIREWALL_PROPERTIES = """\
<?xml version="1.0" encoding="UTF-8"?>
<image_properties>
  <vnf_type>FIREWALL</vnf_type>
  <name>perimeter-fw</name>
  <version>10.1</version>
  <applicationVendor>Example Security</applicationVendor>
  <bootup_time>-1</bootup_time>
  <vcpu_min>2</vcpu_min>
  <vcpu_max>4</vcpu_max>
  <memory_mb_min>5120</memory_mb_min>
  <memory_mb_max>8192</memory_mb_max>
  <root_disk_gb_min>60</root_disk_gb_min>
  <root_disk_gb_max>60</root_disk_gb_max>
  <vnic_max>10</vnic_max>
  <profiles>
    <profile><name>fw-2</name><vcpus>2</vcpus><memory_mb>5120</memory_mb><root_disk_mb>61440</root_disk_mb></profile>
  </profiles>
  <default_profile>fw-2</default_profile>
  <bootstrap_file parse="true" mnt_pnt="/config/init-cfg.txt">init-cfg.txt</bootstrap_file>
  <custom_property mandatory="true"><name>VM_AUTH_KEY</name><type>string</type><val/></custom_property>
  <custom_property mandatory="true"><name>HOSTNAME</name><type>string</type><val/></custom_property>
  <custom_property mandatory="true"><name>PANORAMA_SERVER</name><type>ipv4</type><val/></custom_property>
  <custom_property mandatory="true"><name>IP_ADDRESS</name><type>ipv4</type><val/></custom_property>
  <custom_property mandatory="true"><name>NETMASK</name><type>ipv4</type><val/></custom_property>
  <custom_property mandatory="true"><name>GATEWAY</name><type>ipv4</type><val/></custom_property>
  <custom_property mandatory="true"><name>DNS_SERVER</name><type>ipv4</type><val/></custom_property>
</image_properties>
"""

FIREWALL_CONFIG = """\
type=static
ip-address=${IP_ADDRESS}
default-gateway=${GATEWAY}
netmask=${NETMASK}
hostname=${HOSTNAME}
vm-auth-key=${VM_AUTH_KEY}
panorama-server=${PANORAMA_SERVER}
dns-primary=${DNS_SERVER}
"""

# An accelerator with a cache disk (an ephemeral raw disk) and three profiles.
CACHE_PROPERTIES = """\
<?xml version="1.0" encoding="UTF-8"?>
<image_properties>
  <vnf_type>vWAAS</vnf_type>
  <name>wan-cache</name>
  <version>6.4.5</version>
  <applicationVendor>Example Optimisation</applicationVendor>
  <root_file_disk_bus>virtio</root_file_disk_bus>
  <root_image_disk_format>qcow2</root_image_disk_format>
  <disk_1_file_disk_bus>virtio</disk_1_file_disk_bus>
  <disk_1_image_format>raw</disk_1_image_format>
  <vcpu_min>2</vcpu_min>
  <vcpu_max>8</vcpu_max>
  <memory_mb_min>4096</memory_mb_min>
  <memory_mb_max>16384</memory_mb_max>
  <root_disk_gb_min>10</root_disk_gb_min>
  <root_disk_gb_max>20</root_disk_gb_max>
  <profiles>
    <profile><name>cache-200</name><vcpus>2</vcpus><memory_mb>4096</memory_mb><root_disk_mb>10240</root_disk_mb></profile>
    <profile><name>cache-750</name><vcpus>4</vcpus><memory_mb>8192</memory_mb><root_disk_mb>15360</root_disk_mb></profile>
    <profile><name>cache-1300</name><vcpus>8</vcpus><memory_mb>16384</memory_mb><root_disk_mb>20480</root_disk_mb></profile>
  </profiles>
  <default_profile>cache-750</default_profile>
  <bootstrap_file_1>ovf-env.xml</bootstrap_file_1>
</image_properties>
"""

CACHE_OVF_ENV = """\
<?xml version="1.0" encoding="UTF-8"?>
<Environment><PropertySection><Property key="mode" value="standalone"/></PropertySection></Environment>
"""

NOCLOUD_PROPERTIES = """\
<?xml version="1.0" encoding="UTF-8"?>
<image_properties>
  <vnf_type>OTHER</vnf_type>
  <name>linux-probe</name>
  <version>2.0</version>
  <applicationVendor>Example Labs</applicationVendor>
  <root_image_disk_format>qcow2</root_image_disk_format>
  <vcpu_min>1</vcpu_min>
  <vcpu_max>2</vcpu_max>
  <memory_mb_min>1024</memory_mb_min>
  <memory_mb_max>2048</memory_mb_max>
  <nocloud>true</nocloud>
  <bootstrap_file parse="true" mnt_pnt="user-data">cloud-config.yaml</bootstrap_file>
  <custom_property><name>PROBE_NAME</name><type>string</type><default>probe-1</default></custom_property>
</image_properties>
"""

NOCLOUD_USER_DATA = """\
#cloud-config
hostname: ${PROBE_NAME}
write_files:
  - path: /etc/probe/address
    content: ${NICID_0_IP_ADDRESS}/${NICID_0_CIDR_PREFIX}
"""

ROOT_IMAGE = b"QFI\xfb" + b"\0" * 508  # a qcow2 magic, then nothing: the contents do not matter here


def qcow2(data: bytes) -> bytes:
    """``data`` behind a qcow2 version 3 header (no L1 table, no backing file, clusters of 64 KiB,
    virtual size len(data)): enough for an image service that inspects what it is given."""
    magic, version, cluster_bits, header_length = b"QFI\xfb", 3, 16, 104
    header = struct.pack(">4sI", magic, version) + struct.pack(">QI", 0, 0)  # backing file offset, size
    header += struct.pack(">IQ", cluster_bits, len(data))  # cluster bits, virtual size
    header += struct.pack(">IIQQIIQ", 0, 0, 0, 0, 0, 0, 0)  # crypt, L1 size/offset, refcounts, snapshots
    header += struct.pack(">QQQII", 0, 0, 0, 4, header_length)  # feature bits, refcount order, length
    return header.ljust(1 << cluster_bits, b"\0") + data


def manifest(files: dict[str, bytes], types: dict[str, str], *, sha1: bool = False) -> bytes:
    """A package.mf listing ``files`` (name -> bytes) with their types (default ``unknown``)."""
    lines = ["<!-- sha256sum - for calculating checksum -->", "<PackageContents>"]
    for name, data in files.items():
        lines += ["  <File_Info>", f"    <name>{name}</name>", f"    <type>{types.get(name, 'unknown')}</type>"]
        if sha1:
            lines.append(f"    <sha1_checksum>{hashlib.sha1(data).hexdigest()}</sha1_checksum>")
        else:
            lines.append(f"    <sha256_checksum>{hashlib.sha256(data).hexdigest()}</sha256_checksum>")
        lines.append("  </File_Info>")
    lines.append("</PackageContents>")
    return ("\n".join(lines) + "\n").encode()


def package(properties: str, bootstrap: dict[str, str], *, root: str = "router.qcow2",
            extra: dict[str, tuple[str, bytes]] | None = None) -> dict[str, bytes]:
    """The members of a package: the root image, image_properties.xml, the bootstrap files,
    ``extra`` (name -> (type, bytes)) and package.mf."""
    files = {root: ROOT_IMAGE, "image_properties.xml": properties.encode()}
    types = {root: "root_image", "image_properties.xml": "image_properties"}
    for index, (name, text) in enumerate(bootstrap.items(), 1):
        files[name] = text.encode()
        types[name] = f"bootstrap_file_{index}"
    for name, (kind, data) in (extra or {}).items():
        files[name], types[name] = data, kind
    files["package.mf"] = manifest(files, types)
    return files


def router() -> dict[str, bytes]:
    return package(ROUTER_PROPERTIES, {"iosxe_config.txt": ROUTER_CONFIG})


def firewall() -> dict[str, bytes]:
    return package(FIREWALL_PROPERTIES, {"init-cfg.txt": FIREWALL_CONFIG}, root="fw.qcow2")


def cache() -> dict[str, bytes]:
    return package(CACHE_PROPERTIES, {"ovf-env.xml": CACHE_OVF_ENV}, root="cache.qcow2",
                   extra={"cache-disk.img": ("ephemeral_disk1_image", b"\0" * 4096)})


def nocloud() -> dict[str, bytes]:
    return package(NOCLOUD_PROPERTIES, {"cloud-config.yaml": NOCLOUD_USER_DATA}, root="probe.qcow2")


def write_tar(path: Path, files: dict[str, bytes]) -> Path:
    """``files`` as a flat tar.gz at ``path``."""
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return path


def texts(files: dict[str, bytes], *names: str) -> dict[str, str]:
    return {name: files[name].decode() for name in names}
