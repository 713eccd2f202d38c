/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ptdl kernel shim: stands in for the kernel's <linux/sched.h>, which a generated
 * pgtable-range.h includes; the userspace harness's ptdl_shim.h defines
 * what the header uses from it.  (runtime/c/include is on the harness's
 * include path: dsl/generate/charness.py.)
 */
#ifndef PTDL_STUB_LINUX_SCHED_H
#define PTDL_STUB_LINUX_SCHED_H
#include "ptdl_shim.h"
#endif
