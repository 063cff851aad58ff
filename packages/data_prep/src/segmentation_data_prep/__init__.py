"""Images and trimaps in the Oxford-IIIT Pet layout -> compact TFRecord shards."""
