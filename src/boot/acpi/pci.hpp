// The firmware description of the PCI host bridge (layout in devices/pci/pci_layout.hpp):
//  - MCFG (PCI Firmware Spec 3.2 §4.1.2): where the ECAM window is, so Linux uses it for
//    configuration space (it also requires the window to be e820-reserved);
//  - DSDT AML for the root bridge \_SB.PCI0 (ACPI 6.5 §6.1.5 _HID PNP0A03, §6.4 _CRS): bus 0,
//    the 0xCF8 ports, and the I/O and 32-bit memory windows its BARs live in, and the INTx#
//    routing (_PRT, §6.2.13) of pci_layout.hpp. On an ACPI PC, Linux finds PCI root buses
//    only through such objects.
#pragma once

#include <cstdint>
#include <vector>

namespace vessel::boot::acpi {

std::vector<uint8_t> make_mcfg();
std::vector<uint8_t> pci_host_bridge_aml();

}  // namespace vessel::boot::acpi
