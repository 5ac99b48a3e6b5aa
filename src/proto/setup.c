/* setup.c: the daemon's settings turned into the store's configuration. The
 * one place that mapping is written: main.c builds the daemon's store with it
 * and the protocol fuzzer (tests/fuzz/fuzz_proto.c) builds its stores with it,
 * so what is fuzzed is configured as what ships. Pure: no allocation, no I/O. */
#include "proto/proto.h"

#include "conf/settings.h"

void proto_store_config(const struct settings *s, struct store_config *cfg)
{
    *cfg = (struct store_config){
        .mem_limit = s->mem_limit,
        .item_size_max = s->item_size_max,
        .growth_factor = s->growth_factor,
        .chunk_min = s->chunk_min,
        .evictions = s->evictions,
        .use_cas = s->use_cas,
        .hash_power = s->hash_power,
        .adaptive = true,       /* the daemon's behaviour; see store_config */
    };
}
