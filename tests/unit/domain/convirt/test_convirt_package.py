"""Whole image directories read from tars (through PackageArchive) and from mappings: layout, files, variables."""

import pytest

from nfvo.domain.archive import ARTIFACT, DESCRIPTOR, SCRIPT, ArchiveLimits, PackageArchive
from nfvo.domain.convirt import ConvirtTemplate, TemplateFiles, convirt_kind, read_files, read_template
from nfvo.errors import Issue, UnsafeArchive, ValidationFailed
from tests.unit.domain.convirt import samples


def read_tar(tmp_path, files, name="image.tar.gz", **kwargs) -> ConvirtTemplate:
    path = samples.write_tar(tmp_path / name, files)
    with PackageArchive.open(path, display_name=name, kind_of=convirt_kind) as archive:
        return read_template(archive, **kwargs)


def refused(files, **kwargs) -> list[tuple]:
    with pytest.raises(ValidationFailed) as caught:
        read_files(files, "image.tar.gz", **kwargs)
    return [(e.file, e.line, e.pointer, e.severity, e.message) for e in caught.value.errors]


def test_member_kinds():
    names = ["Fedora/vm_conf.template", "Fedora/image.conf", "Fedora/description.htm", "Fedora/provision.sh",
             "Fedora/custom_scripts/a/10.sh", "image.conf", "provision.sh", "custom_scripts/x.sh", "Fedora/README",
             "Fedora/other/image.conf", "Fedora/custom_scripts"]
    assert [convirt_kind(n) for n in names] == [DESCRIPTOR, DESCRIPTOR, DESCRIPTOR, SCRIPT, SCRIPT, DESCRIPTOR,
                                                SCRIPT, SCRIPT, ARTIFACT, ARTIFACT, ARTIFACT]


def test_a_fedora_like_image_from_a_tar(tmp_path):
    template = read_tar(tmp_path, samples.fedora())
    assert template.image_name == "Fedora_Core_Install" and template.directory == "Fedora_Core_Install/"
    assert template.warnings == ()
    assert template.provision_script == "Fedora_Core_Install/provision.sh"
    assert template.custom_scripts == ("Fedora_Core_Install/custom_scripts/fedora_tweaks/10-firewall.sh",
                                       "Fedora_Core_Install/custom_scripts/fedora_tweaks/20-admin.sh")
    assert template.description == samples.DESCRIPTION
    assert template.image_conf.file == "Fedora_Core_Install/image.conf"
    assert template.image_conf.option("KERNEL_TYPE").value == "fc-xen"
    assert template.image_conf.option("hda_disk_size").line == 5
    assert template.image_conf.computed == ("hda_disk_size_mb", "label")
    assert template.image_conf.customizable_names() == ("hda_disk_size", "firewall", "admin_user", "swap_size_mb")
    kernel = template.vm_conf.option("kernel")
    assert kernel.value == "$IMAGE_STORE/$IMAGE_NAME/vmlinuz.$KERNEL_TYPE"
    assert [u.name for u in kernel.uses] == ["IMAGE_STORE", "IMAGE_NAME", "KERNEL_TYPE"]
    assert template.vm_conf.customizable is None
    assert "memory" in template.vm_conf.customizable_names()


def test_a_cd_install_image_without_description(tmp_path):
    template = read_tar(tmp_path, samples.cd_install())
    assert (template.image_name, template.description, template.custom_scripts) == ("Linux_CD_Install", None, ())
    assert template.vm_conf.option("device_model").value == "/usr/lib64/xen/bin/qemu-dm"
    assert "device_model" not in template.vm_conf.customizable_names()


def test_files_at_the_root_are_named_by_the_tar_or_the_caller(tmp_path):
    files = samples.at_root(samples.fedora())
    assert read_tar(tmp_path, files, "Fedora_Core_Install.tar.gz").image_name == "Fedora_Core_Install"
    template = read_tar(tmp_path, files, "upload.tgz", image_name="Fedora_9")
    assert (template.image_name, template.directory, template.provision_script) == ("Fedora_9", "", "provision.sh")
    assert read_files(files, "x/Plain.tar").image_name == "Plain"


def test_text_and_bytes_mappings_and_a_bom():
    files = {name: data.decode() for name, data in samples.cd_install().items()}
    files["Linux_CD_Install/image.conf"] = "\ufeff" + files["Linux_CD_Install/image.conf"]
    assert read_files(files).image_conf.option("hda_disk_size").value == 6
    raw = samples.cd_install()
    raw["Linux_CD_Install/vm_conf.template"] = b"\xef\xbb\xbf" + raw["Linux_CD_Install/vm_conf.template"]
    assert read_files(raw).vm_conf.option("builder").value == "hvm"


def test_missing_files_are_errors():
    files = samples.fedora()
    for name in ("vm_conf.template", "image.conf", "provision.sh"):
        del files[f"Fedora_Core_Install/{name}"]
    assert refused(files) == [
        ("Fedora_Core_Install/image.conf", None, None, "error", "image.conf is missing from the image directory"),
        ("Fedora_Core_Install/provision.sh", None, None, "error", "provision.sh is missing from the image directory"),
        ("Fedora_Core_Install/vm_conf.template", None, None, "error",
         "vm_conf.template is missing from the image directory")]
    assert [f[4] for f in refused({})] == [f"{n} is missing from the image directory"
                                           for n in ("image.conf", "provision.sh", "vm_conf.template")]


def test_other_files_are_warnings_and_strict_refuses_them(tmp_path):
    files = samples.fedora()
    files["Fedora_Core_Install/README"] = b"x"
    files["Fedora_Core_Install/notes/todo.txt"] = b"x"
    files["Fedora_Core_Install/._image.conf"] = b"x"
    template = read_tar(tmp_path, files)
    assert [(w.file, w.severity) for w in template.warnings] == [
        ("Fedora_Core_Install/README", "warning"), ("Fedora_Core_Install/notes/todo.txt", "warning")]
    assert "ignored" in template.warnings[0].message
    with pytest.raises(ValidationFailed) as caught:
        read_tar(tmp_path, files, strict=True)
    assert "strict validation" in caught.value.detail


def test_one_image_directory_is_chosen_among_several_top_directories():
    files = {**samples.fedora(), "common/defs": b"x", "LICENSE": b"x"}
    template = read_files(files)
    assert template.image_name == "Fedora_Core_Install"
    assert [(w.file, w.message) for w in template.warnings] == [
        ("LICENSE", "outside the image directory Fedora_Core_Install/: ignored"),
        ("common/defs", "outside the image directory Fedora_Core_Install/: ignored")]


def test_several_images_in_one_tar_are_refused():
    found = refused({**samples.fedora(), **samples.cd_install()})
    assert ("Linux_CD_Install/", None, None, "error", "the tar holds several image directories "
            "(Fedora_Core_Install/, Linux_CD_Install/): one image per tar") in found


def test_no_image_directory():
    assert refused({"a/x": b"", "b/y": b""})[0][4].startswith("no image directory: none of the top directories")


@pytest.mark.parametrize("top", ["bad name", ".hidden", "-x", "a$b", "x" * 129])
def test_the_image_name_must_suit_a_directory_of_the_image_store(top):
    found = refused(samples.cd_install(top))
    assert [(f[0], f[3]) for f in found if f[4].startswith("image name")] == [(f"{top}/", "error")]


def test_common_and_example_are_not_listed_as_images():
    template = read_files(samples.cd_install("example"))
    assert [w.message for w in template.warnings] == [
        "an image named 'example': ConVirt does not list the image store's example/ as an image"]


def test_variables_of_both_files_are_checked():
    files = samples.fedora()
    files["Fedora_Core_Install/image.conf"] += b"note = 'for $VM_NAME in $KERNEL_TYPE'\n"
    files["Fedora_Core_Install/vm_conf.template"] += b"extra2 = '$hda_disk_size $custom_list ${nope} $'\n"
    assert refused(files) == [
        ("Fedora_Core_Install/image.conf", 19, "/note", "error", "undefined variable $KERNEL_TYPE (column 25): "
         "image.conf can use $VM_NAME, $IMAGE_STORE and $IMAGE_NAME; write $$ for a literal $"),
        ("Fedora_Core_Install/vm_conf.template", 11, "/extra2", "error", "$custom_list (column 26) is a list: only a "
         "string, number or boolean can be put into a string"),
        ("Fedora_Core_Install/vm_conf.template", 11, "/extra2", "warning", "'$' (column 47) is not followed by a "
         "variable name: left as written (write $$ for a literal $)"),
        ("Fedora_Core_Install/vm_conf.template", 11, "/extra2", "error", "undefined variable ${nope} (column 39): "
         "vm_conf.template can use $VM_NAME, $IMAGE_STORE, $IMAGE_NAME and the options of image.conf; write $$ for "
         "a literal $")]


def test_a_crypt_hash_is_kept_as_written_with_a_warning_and_other_dollars_still_count():
    files = samples.cd_install()
    guide = "$1$9qAFryp3$XmvqcFN/CJG4AC7jgyVE8"  # the guide's own admin_password
    files["Linux_CD_Install/image.conf"] += f"admin_password = '{guide}'\n".encode()
    template = read_files(files)
    assert template.image_conf.option("admin_password").value == guide
    assert template.image_conf.option("admin_password").uses == ()
    assert [(w.file, w.line, w.pointer, w.severity, w.message) for w in template.warnings] == [
        ("Linux_CD_Install/image.conf", 3, "/admin_password", "warning", "a crypt(3) hash (MD5-crypt): kept as written, "
         "its $ are not variables; write each $ as $$ to say so")]
    # not a whole hash: its $NAMEs are variables again
    files["Linux_CD_Install/image.conf"] = samples.CD_IMAGE_CONF.encode() + b"admin_password = 'pw $1$9qAFryp3$Xmvq'\n"
    assert [f[4].split(" (")[0] for f in refused(files) if f[3] == "error"] == ["undefined variable $Xmvq"]
    files["Linux_CD_Install/image.conf"] = samples.CD_IMAGE_CONF.encode() + b"admin_password = '$$1$$9qAFryp3$$Xm'\n"
    template = read_files(files)
    assert template.image_conf.option("admin_password").value == "$$1$$9qAFryp3$$Xm" and template.warnings == ()


def test_an_image_conf_option_refused_does_not_make_vm_conf_variables_undefined():
    files = samples.fedora()
    files["Fedora_Core_Install/image.conf"] = b"KERNEL_TYPE = __import__('os').uname()\n"
    found = refused(files)
    assert [(f[0], f[1]) for f in found] == [("Fedora_Core_Install/image.conf", 1)]
    files["Fedora_Core_Install/image.conf"] = b"KERNEL_TYPE = (\n"
    assert [(f[0], f[1]) for f in refused(files)] == [("Fedora_Core_Install/image.conf", 1)]


def test_every_finding_of_every_file_at_once():
    files = samples.fedora()
    files["Fedora_Core_Install/image.conf"] = b"import os\nx = os.getcwd()\n"
    files["Fedora_Core_Install/vm_conf.template"] = b"memory = 256\nmemory += 1\n"
    del files["Fedora_Core_Install/provision.sh"]
    files["Fedora_Core_Install/extra.txt"] = b""
    with pytest.raises(ValidationFailed) as caught:
        read_files(files, "fc.tar.gz")
    assert caught.value.detail == "4 problems in package fc.tar.gz, and 1 warning"
    assert [(e.file, e.line) for e in caught.value.errors] == [
        ("Fedora_Core_Install/extra.txt", None), ("Fedora_Core_Install/image.conf", 1),
        ("Fedora_Core_Install/image.conf", 2), ("Fedora_Core_Install/provision.sh", None),
        ("Fedora_Core_Install/vm_conf.template", 2)]


class _Oversized(TemplateFiles):
    def read_text(self, name: str) -> str:
        if name.endswith("image.conf"):
            raise UnsafeArchive("too large", errors=[Issue("larger than the limit", name)])
        return super().read_text(name)


def test_a_config_file_over_the_archives_text_limit_is_refused_as_unsafe(tmp_path):
    with pytest.raises(UnsafeArchive):
        read_template(_Oversized(samples.cd_install()))
    files = samples.cd_install()
    files["Linux_CD_Install/image.conf"] = b"a = 1\n" * 400
    path = samples.write_tar(tmp_path / "big.tar.gz", files)
    with pytest.raises(UnsafeArchive):  # the archive refuses it as it lists it, by its kind
        PackageArchive.open(path, ArchiveLimits(max_text_size=1000), kind_of=convirt_kind)
