/* crc32c.h - CRC-32C (Castagnoli), the checksum of every udax metadata structure. */
#ifndef UDAX_CRC32C_H
#define UDAX_CRC32C_H
#include <stddef.h>
#include <stdint.h>

uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

#endif
