/* A small SHA-256 (FIPS 180-4) for output digests: portable C, no dependencies. */
#ifndef SMX_TOOLS_SHA256_H
#define SMX_TOOLS_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct sha256_ctx {
  uint32_t h[8];
  uint64_t len;      /* bytes hashed so far */
  uint8_t buf[64];
  size_t fill;       /* bytes in buf */
} sha256_ctx;

void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *data, size_t n);
void sha256_final(sha256_ctx *c, uint8_t out[32]);
/* 64 lowercase hex characters and a terminating NUL. */
void sha256_hex(const uint8_t d[32], char out[65]);

#endif
