// SPDX-License-Identifier: MIT
/*
 * DOC: device registry
 *
 * The struct device + device_dma_parameters of the emulation: named devices
 * with DMA constraints.  They come from a built-in sample set, from a config
 * file read at mount time, and from ioctls at run time.  A device cannot be
 * removed while an attachment names it (-EBUSY), as a driver cannot unbind
 * while its DMA is live.
 *
 * Config file format, one device per line, '#' starts a comment:
 *
 *	# name     constraints
 *	camera0    dma_bits=32 max_segments=1 alignment=64K
 *	gpu0       dma_bits=40 iommu coherent
 *
 * Keys: dma_bits, max_segments, max_segment_size, segment_boundary,
 * alignment (sizes take K/M/G suffixes); flags: iommu, coherent.
 *
 * Calls sg.c and range.c (the IOVA spaces) and libdmabuf's parser of
 * device descriptions.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>

#include <dmabuf/dmabuf.h>

#include "internal.h"

static const struct dmabuf_device_desc builtin_devices[] = {
	{.name = "cpu", .dma_bits = 64, .flags = DMABUF_DEVICE_COHERENT},
	/* A sensor's DMA engine: 32-bit, one contiguous segment. */
	{.name = "camera0",
	 .dma_bits = 32,
	 .max_segments = 1,
	 .alignment = 64 << 10},
	/* A codec with a 40-bit scatter-gather engine of 64 KiB segments. */
	{.name = "encoder0",
	 .dma_bits = 40,
	 .max_segment_size = 64 << 10,
	 .segment_boundary = 0xffffffffULL},
	/* A scanout engine: 32-bit, contiguous, 1 MiB-aligned. */
	{.name = "display0",
	 .dma_bits = 32,
	 .max_segments = 1,
	 .alignment = 1 << 20},
	/* A GPU behind an IOMMU: sees any placement as contiguous. */
	{.name = "gpu0",
	 .dma_bits = 40,
	 .flags = DMABUF_DEVICE_IOMMU | DMABUF_DEVICE_COHERENT},
};

static bool name_valid(const char *name)
{
	size_t len = strnlen(name, DMABUF_NAME_LEN), i;

	if (len == 0 || len == DMABUF_NAME_LEN)
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("_.-", name[i]))
			return false;
	return true;
}

/**
 * dmabuf_device_desc_check() - is @desc well formed?
 * @desc: a device description from a user
 *
 * Return: 0, or -EINVAL with the reason logged.
 */
int dmabuf_device_desc_check(const struct dmabuf_device_desc *desc)
{
	const char *why = NULL;

	if (!name_valid(desc->name))
		why = "name must be 1-31 characters of [A-Za-z0-9_.-]";
	else if (desc->dma_bits < 12 || desc->dma_bits > 64)
		why = "dma_bits must be 12..64";
	else if (desc->max_segment_size &&
		 (desc->max_segment_size < DMABUF_PAGE_SIZE ||
		  desc->max_segment_size % DMABUF_PAGE_SIZE))
		why = "max_segment_size must be 0 or a multiple of 4096";
	else if (desc->segment_boundary &&
		 (!IS_POW2(desc->segment_boundary + 1) ||
		  desc->segment_boundary < DMABUF_PAGE_SIZE - 1))
		why = "segment_boundary must be 0 or 2^k-1 with k >= 12";
	else if (desc->alignment &&
		 (!IS_POW2(desc->alignment) || desc->alignment > (1ULL << 30)))
		why = "alignment must be 0 or a power of two up to 1G";
	else if (desc->flags & ~DMABUF_DEVICE_VALID_FLAGS)
		why = "unknown flags";
	else if (desc->pad)
		why = "padding must be zero";
	if (!why)
		return 0;
	dmabuf_log(LOG_WARNING, "device '%.*s' refused (EINVAL): %s",
		   DMABUF_NAME_LEN - 1, desc->name, why);
	return -EINVAL;
}

struct dmabuf_device *device_find_locked(struct dmabuf_core *core,
					 const char *name)
{
	struct dmabuf_device *dev;

	TAILQ_FOREACH (dev, &core->devices, link)
		if (!strncmp(dev->desc.name, name, DMABUF_NAME_LEN))
			return dev;
	return NULL;
}

static int device_new(const struct dmabuf_device_desc *desc,
		      struct dmabuf_device **out)
{
	struct dmabuf_device *dev = calloc(1, sizeof(*dev));
	uint64_t top;

	if (!dev)
		return -ENOMEM;
	dev->desc = *desc;
	constraints_of_desc(desc, &dev->c);
	if (desc->flags & DMABUF_DEVICE_IOMMU) {
		top = constraints_limit(&dev->c);
		top = top >= IOVA_TOP - 1 ? IOVA_TOP : top + 1;
		if (range_pool_init(&dev->iova, IOVA_BASE, top - IOVA_BASE)) {
			free(dev);
			return -ENOMEM;
		}
	}
	*out = dev;
	return 0;
}

static void device_free(struct dmabuf_device *dev)
{
	if (dev->desc.flags & DMABUF_DEVICE_IOMMU)
		range_pool_fini(&dev->iova);
	free(dev);
}

/**
 * dmabuf_core_device_add() - register a device
 * @core: the core
 * @desc: its name and constraints
 *
 * Return: 0; -EINVAL for a malformed description; -EEXIST when the name is
 * taken; -ENOMEM.
 */
int dmabuf_core_device_add(struct dmabuf_core *core,
			   const struct dmabuf_device_desc *desc)
{
	struct dmabuf_device *dev;
	int ret = dmabuf_device_desc_check(desc);

	if (ret)
		return ret;
	ret = device_new(desc, &dev);
	if (ret)
		return ret;
	pthread_mutex_lock(&core->lock);
	if (device_find_locked(core, desc->name)) {
		pthread_mutex_unlock(&core->lock);
		device_free(dev);
		dmabuf_log(LOG_WARNING, "device '%s' refused (EEXIST)",
			   desc->name);
		return -EEXIST;
	}
	TAILQ_INSERT_TAIL(&core->devices, dev, link);
	pthread_mutex_unlock(&core->lock);
	dmabuf_log(LOG_INFO, "device '%s' added", desc->name);
	return 0;
}

/**
 * dmabuf_core_device_remove() - unregister a device
 * @core: the core
 * @name: its name
 *
 * Return: 0; -ENODEV when unknown; -EBUSY while attached to a buffer.
 */
int dmabuf_core_device_remove(struct dmabuf_core *core, const char *name)
{
	struct dmabuf_device *dev;
	int ret = 0;

	pthread_mutex_lock(&core->lock);
	dev = device_find_locked(core, name);
	if (!dev)
		ret = -ENODEV;
	else if (dev->users)
		ret = -EBUSY;
	else
		TAILQ_REMOVE(&core->devices, dev, link);
	pthread_mutex_unlock(&core->lock);
	if (ret) {
		dmabuf_log(LOG_WARNING, "device '%.31s' not removed: %s", name,
			   strerror(-ret));
		return ret;
	}
	device_free(dev);
	dmabuf_log(LOG_INFO, "device '%.31s' removed", name);
	return 0;
}

/**
 * dmabuf_core_device_list() - read a page of the registry
 * @core: the core
 * @first: index of the first device wanted
 * @count: room in @out
 * @out: filled with up to @count descriptions
 * @total: out: devices registered
 *
 * Return: the number of descriptions written.
 */
int dmabuf_core_device_list(struct dmabuf_core *core, uint32_t first,
			    uint32_t count, struct dmabuf_device_desc *out,
			    uint32_t *total)
{
	struct dmabuf_device *dev;
	uint32_t i = 0, n = 0;

	pthread_mutex_lock(&core->lock);
	TAILQ_FOREACH (dev, &core->devices, link) {
		if (i >= first && n < count)
			out[n++] = dev->desc;
		i++;
	}
	pthread_mutex_unlock(&core->lock);
	*total = i;
	return (int)n;
}

/**
 * dmabuf_core_device_add_builtin() - register the sample devices
 * @core: the core
 *
 * cpu, camera0, encoder0, display0 and gpu0; a name already registered (from
 * a config file) keeps its configured constraints.
 *
 * Return: 0 or -ENOMEM.
 */
int dmabuf_core_device_add_builtin(struct dmabuf_core *core)
{
	size_t i;

	for (i = 0; i < sizeof(builtin_devices) / sizeof(*builtin_devices);
	     i++) {
		int ret = dmabuf_core_device_add(core, &builtin_devices[i]);

		if (ret && ret != -EEXIST)
			return ret;
	}
	return 0;
}

/**
 * dmabuf_device_parse_line() - parse and check one line of a devices file
 * @line: the line
 * @desc: out: the device
 *
 * Syntax is libdmabuf's dmabuf_device_parse(); the constraints are then
 * checked as for any registration.
 *
 * Return: 1 for a device, 0 for a blank or comment line, -EINVAL.
 */
int dmabuf_device_parse_line(const char *line, struct dmabuf_device_desc *desc)
{
	int ret = dmabuf_device_parse(line, desc);

	if (ret != 1)
		return ret;
	return dmabuf_device_desc_check(desc) ?: 1;
}

/**
 * dmabuf_core_device_load_file() - register every device in a devices file
 * @core: the core
 * @path: the file
 *
 * Stops at the first bad line, logging its number.
 *
 * Return: 0, -errno from opening, or -EINVAL/-EEXIST for a bad line.
 */
int dmabuf_core_device_load_file(struct dmabuf_core *core, const char *path)
{
	struct dmabuf_device_desc desc;
	char line[512];
	unsigned int lineno = 0;
	FILE *f = fopen(path, "re");
	struct stat st;
	int ret = 0;

	if (!f) {
		ret = -errno;
		dmabuf_log(LOG_ERR, "%s: %s", path, strerror(errno));
		return ret;
	}
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		dmabuf_log(LOG_ERR, "%s: is a directory, not a device file",
			   path);
		fclose(f);
		return -EISDIR;
	}
	while (!ret && fgets(line, sizeof(line), f)) {
		lineno++;
		ret = dmabuf_device_parse_line(line, &desc);
		if (ret == 1)
			ret = dmabuf_core_device_add(core, &desc);
		if (ret < 0)
			dmabuf_log(LOG_ERR, "%s:%u: bad device line: %s", path,
				   lineno, strerror(-ret));
	}
	if (!ret && ferror(f)) { /* a read error is not an empty file */
		ret = -EIO;
		dmabuf_log(LOG_ERR, "%s: cannot read it", path);
	}
	fclose(f);
	return ret < 0 ? ret : 0;
}

void devices_free(struct dmabuf_core *core)
{
	struct dmabuf_device *dev;

	while ((dev = TAILQ_FIRST(&core->devices))) {
		TAILQ_REMOVE(&core->devices, dev, link);
		device_free(dev);
	}
}
