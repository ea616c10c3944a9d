"""Look-alike OVF descriptors and OVAs, written here: a VMware export, a PowerVC export, an OVF 2.0 one, a broken one.

Each descriptor is a template whose ``{size...}`` fields take the disk sizes; :func:`ova_members`
builds the members of an OVA (descriptor first, manifest, disks) from a descriptor and its disks.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

OVF1 = "http://schemas.dmtf.org/ovf/envelope/1"
OVF2 = "http://schemas.dmtf.org/ovf/envelope/2"
RASD = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
VSSD = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData"
SASD = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_StorageAllocationSettingData"
VMW = "http://www.vmware.com/schema/ovf"
STREAM_OPTIMIZED = "http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"
QCOW = "http://www.gnome.org/~markmc/qcow-image-format.html"

VMWARE_DISK = "ubuntu-22.04-disk1.vmdk"
VMWARE = f"""\
<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="{OVF1}" xmlns:ovf="{OVF1}" xmlns:rasd="{RASD}"
          xmlns:vssd="{VSSD}" xmlns:vmw="{VMW}">
  <References>
    <File ovf:href="{VMWARE_DISK}" ovf:id="file1" ovf:size="{{size}}"/>
  </References>
  <DiskSection>
    <Info>Virtual disk information</Info>
    <Disk ovf:capacity="20" ovf:capacityAllocationUnits="byte * 2^30" ovf:diskId="vmdisk1" ovf:fileRef="file1"
          ovf:format="{STREAM_OPTIMIZED}" ovf:populatedSize="1048576"/>
  </DiskSection>
  <NetworkSection>
    <Info>The list of logical networks</Info>
    <Network ovf:name="VM Network">
      <Description>The VM Network network</Description>
    </Network>
  </NetworkSection>
  <VirtualSystem ovf:id="ubuntu-2204">
    <Info>A virtual machine</Info>
    <Name>ubuntu-22.04-gold</Name>
    <AnnotationSection>
      <Info>A human-readable annotation</Info>
      <Annotation>Ubuntu 22.04 gold image with cloud-init</Annotation>
    </AnnotationSection>
    <OperatingSystemSection ovf:id="94" vmw:osType="ubuntu64Guest">
      <Info>The kind of installed guest operating system</Info>
      <Description>Ubuntu Linux 22.04 (64-bit)</Description>
    </OperatingSystemSection>
    <VirtualHardwareSection>
      <Info>Virtual hardware requirements</Info>
      <System>
        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>
        <vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemIdentifier>ubuntu-2204</vssd:VirtualSystemIdentifier>
        <vssd:VirtualSystemType>vmx-19</vssd:VirtualSystemType>
      </System>
      <Item>
        <rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits>
        <rasd:Description>Number of Virtual CPUs</rasd:Description>
        <rasd:ElementName>2 virtual CPU(s)</rasd:ElementName>
        <rasd:InstanceID>1</rasd:InstanceID>
        <rasd:ResourceType>3</rasd:ResourceType>
        <rasd:VirtualQuantity>2</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits>
        <rasd:Description>Memory Size</rasd:Description>
        <rasd:ElementName>4096MB of memory</rasd:ElementName>
        <rasd:InstanceID>2</rasd:InstanceID>
        <rasd:ResourceType>4</rasd:ResourceType>
        <rasd:VirtualQuantity>4096</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:Address>0</rasd:Address>
        <rasd:Description>SCSI Controller</rasd:Description>
        <rasd:ElementName>SCSI Controller 0</rasd:ElementName>
        <rasd:InstanceID>3</rasd:InstanceID>
        <rasd:ResourceSubType>lsilogic</rasd:ResourceSubType>
        <rasd:ResourceType>6</rasd:ResourceType>
      </Item>
      <Item>
        <rasd:AddressOnParent>0</rasd:AddressOnParent>
        <rasd:ElementName>Hard Disk 1</rasd:ElementName>
        <rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource>
        <rasd:InstanceID>4</rasd:InstanceID>
        <rasd:Parent>3</rasd:Parent>
        <rasd:ResourceType>17</rasd:ResourceType>
      </Item>
      <Item ovf:required="false">
        <rasd:AutomaticAllocation>true</rasd:AutomaticAllocation>
        <rasd:Connection>VM Network</rasd:Connection>
        <rasd:ElementName>Network adapter 1</rasd:ElementName>
        <rasd:InstanceID>5</rasd:InstanceID>
        <rasd:ResourceSubType>VmxNet3</rasd:ResourceSubType>
        <rasd:ResourceType>10</rasd:ResourceType>
      </Item>
      <vmw:Config ovf:required="false" vmw:key="firmware" vmw:value="efi"/>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
"""

POWERVC_BOOT, POWERVC_DATA = "aix73-boot-volume", "aix73-data-volume.raw"
POWERVC = f"""\
<?xml version="1.0" encoding="UTF-8"?>
<ovf:Envelope xmlns:ovf="{OVF1}" xmlns:rasd="{RASD}" xmlns:vssd="{VSSD}">
  <ovf:References>
    <ovf:File ovf:href="{POWERVC_BOOT}" ovf:id="file-boot" ovf:size="{{boot_size}}"/>
    <ovf:File ovf:href="{POWERVC_DATA}" ovf:id="file-data" ovf:size="{{data_size}}"/>
  </ovf:References>
  <ovf:DiskSection>
    <ovf:Info>Volumes of the image</ovf:Info>
    <ovf:Disk ovf:capacity="{{boot_size}}" ovf:diskId="boot" ovf:fileRef="file-boot"/>
    <ovf:Disk ovf:capacity="1" ovf:capacityAllocationUnits="byte * 2^30" ovf:diskId="data" ovf:fileRef="file-data"/>
  </ovf:DiskSection>
  <ovf:VirtualSystem ovf:id="aix73-gold">
    <ovf:Info>An AIX logical partition</ovf:Info>
    <ovf:ProductSection>
      <ovf:Info>Product information</ovf:Info>
      <ovf:Product>AIX 7.3 gold image</ovf:Product>
      <ovf:Vendor>Example Corp</ovf:Vendor>
      <ovf:Version>7.3.1</ovf:Version>
    </ovf:ProductSection>
    <ovf:OperatingSystemSection ovf:id="9">
      <ovf:Info>The operating system</ovf:Info>
      <ovf:Description>AIX 7.3</ovf:Description>
    </ovf:OperatingSystemSection>
    <ovf:VirtualHardwareSection>
      <ovf:Info>Partition resources</ovf:Info>
      <ovf:Item>
        <rasd:ElementName>Processors</rasd:ElementName>
        <rasd:InstanceID>1</rasd:InstanceID>
        <rasd:ResourceType>3</rasd:ResourceType>
        <rasd:VirtualQuantity>4</rasd:VirtualQuantity>
      </ovf:Item>
      <ovf:Item>
        <rasd:AllocationUnits>GigaBytes</rasd:AllocationUnits>
        <rasd:ElementName>Memory</rasd:ElementName>
        <rasd:InstanceID>2</rasd:InstanceID>
        <rasd:ResourceType>4</rasd:ResourceType>
        <rasd:VirtualQuantity>8</rasd:VirtualQuantity>
      </ovf:Item>
    </ovf:VirtualHardwareSection>
    <ovf:StartupSection>
      <ovf:Info>Deployment order</ovf:Info>
      <ovf:Item ovf:id="aix73-gold" ovf:order="0"/>
    </ovf:StartupSection>
  </ovf:VirtualSystem>
</ovf:Envelope>
"""

OVF2_ROOT, OVF2_DATA = "root.qcow2", "data.qcow2"
OVF_2 = f"""\
<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="{OVF2}" xmlns:ovf="{OVF2}" xmlns:rasd="{RASD}" xmlns:sasd="{SASD}"
          xmlns:vssd="{VSSD}" xmlns:acme="urn:example:acme">
  <References>
    <File ovf:id="data" ovf:href="{OVF2_DATA}" ovf:size="{{data_size}}"/>
    <File ovf:id="root" ovf:href="./{OVF2_ROOT}" ovf:size="{{root_size}}"/>
  </References>
  <DiskSection>
    <Info>Disks</Info>
    <Disk ovf:diskId="d-data" ovf:fileRef="data" ovf:capacity="10737418240" ovf:format="{QCOW}"/>
    <Disk ovf:diskId="d-root" ovf:fileRef="root" ovf:capacity="8" ovf:capacityAllocationUnits="byte*2^30"
          ovf:format="{QCOW}"/>
    <Disk ovf:diskId="d-scratch" ovf:capacity="512" ovf:capacityAllocationUnits="byte * 2^20"/>
  </DiskSection>
  <VirtualSystem ovf:id="debian-12">
    <Info>A Debian virtual machine</Info>
    <Name>debian-12-generic</Name>
    <OperatingSystemSection ovf:id="96" ovf:version="12">
      <Info>Guest operating system</Info>
    </OperatingSystemSection>
    <VirtualHardwareSection>
      <Info>Hardware</Info>
      <Item>
        <rasd:InstanceID>1</rasd:InstanceID>
        <rasd:ResourceType>3</rasd:ResourceType>
        <rasd:VirtualQuantity>1</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:AllocationUnits>MegaBytes</rasd:AllocationUnits>
        <rasd:InstanceID>2</rasd:InstanceID>
        <rasd:ResourceType>4</rasd:ResourceType>
        <rasd:VirtualQuantity>2048</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:InstanceID>10</rasd:InstanceID>
        <rasd:ResourceSubType>virtio-scsi</rasd:ResourceSubType>
        <rasd:ResourceType>6</rasd:ResourceType>
      </Item>
      <StorageItem>
        <sasd:AddressOnParent>1</sasd:AddressOnParent>
        <sasd:HostResource>ovf:/disk/d-data</sasd:HostResource>
        <sasd:InstanceID>20</sasd:InstanceID>
        <sasd:Parent>10</sasd:Parent>
        <sasd:ResourceType>31</sasd:ResourceType>
      </StorageItem>
      <StorageItem>
        <sasd:AddressOnParent>0</sasd:AddressOnParent>
        <sasd:HostResource>ovf:/disk/d-root</sasd:HostResource>
        <sasd:InstanceID>21</sasd:InstanceID>
        <sasd:Parent>10</sasd:Parent>
        <sasd:ResourceType>31</sasd:ResourceType>
      </StorageItem>
    </VirtualHardwareSection>
    <acme:LicenseSection ovf:required="true">
      <Info>A licence server nfvo does not know</Info>
    </acme:LicenseSection>
    <acme:TelemetrySection ovf:required="false">
      <Info>Optional vendor data</Info>
    </acme:TelemetrySection>
  </VirtualSystem>
</Envelope>
"""

BROKEN = f"""\
<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="{OVF1}" xmlns:ovf="{OVF1}" xmlns:rasd="{RASD}">
  <References>
    <File ovf:href="../etc/shadow" ovf:id="escape" ovf:size="10"/>
    <File ovf:href="/var/lib/disk.img" ovf:id="absolute" ovf:size="10"/>
    <File ovf:href="disks\\win.vmdk" ovf:id="backslash" ovf:size="10"/>
    <File ovf:href="negative.vmdk" ovf:id="negative" ovf:size="-5"/>
  </References>
  <DiskSection>
    <Info>Disks</Info>
    <Disk ovf:diskId="d1" ovf:fileRef="nowhere" ovf:capacity="1"/>
    <Disk ovf:diskId="d2" ovf:fileRef="negative" ovf:capacity="lots"/>
  </DiskSection>
  <VirtualSystem ovf:id="broken">
    <Info>Broken</Info>
    <VirtualHardwareSection>
      <Info>Hardware</Info>
      <Item>
        <rasd:HostResource>ovf:/disk/d9</rasd:HostResource>
        <rasd:InstanceID>1</rasd:InstanceID>
        <rasd:ResourceType>17</rasd:ResourceType>
      </Item>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
"""

XXE = """\
<?xml version="1.0"?>
<!DOCTYPE Envelope [
  <!ENTITY xxe SYSTEM "file:///etc/passwd">
]>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1"><VirtualSystem><Name>&xxe;</Name></VirtualSystem></Envelope>
"""
BILLION_LAUGHS = """\
<?xml version="1.0"?>
<!DOCTYPE Envelope [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1"><VirtualSystem><Name>&lol3;</Name></VirtualSystem></Envelope>
"""


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the first occurrence of ``needle`` in ``text``."""
    return text[: text.index(needle)].count("\n") + 1


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest(files: dict[str, bytes], *, algorithm: str = "SHA256", separator: str = "= ") -> bytes:
    """An OVA manifest listing ``files`` with ``algorithm`` (SHA256 or SHA1)."""
    digest = {"SHA256": hashlib.sha256, "SHA1": hashlib.sha1}[algorithm]
    return "".join(f"{algorithm}({name}){separator}{digest(data).hexdigest()}\n"
                   for name, data in files.items()).encode()


def ova_members(ovf_name: str, ovf_text: str, disks: dict[str, bytes], *, with_manifest: bool = True,
                **manifest_options) -> list[tuple[str, bytes]]:
    """The members of an OVA in the order the OVF specification gives: descriptor, manifest, disks."""
    ovf = ovf_text.encode()
    members = [(ovf_name, ovf)]
    if with_manifest:
        members.append((ovf_name.removesuffix(".ovf") + ".mf", manifest({ovf_name: ovf, **disks}, **manifest_options)))
    return members + list(disks.items())


def write_tar(path: Path, members: list[tuple[str, bytes]]) -> Path:
    """A plain tar at ``path`` holding ``members`` in order."""
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def vmware_ova(path: Path, disk: bytes = b"KDMV" + bytes(4092), **options) -> Path:
    """The VMware sample as an OVA at ``path`` around ``disk``."""
    text = VMWARE.format(size=len(disk))
    return write_tar(path, ova_members("ubuntu.ovf", text, {VMWARE_DISK: disk}, **options))
