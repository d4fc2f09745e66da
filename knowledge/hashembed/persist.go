package hashembed

import (
	"context"
	"fmt"

	"k8s-manage/knowledge"
)

// idfKey is where the fitted IDF table is kept in knowledge metadata.
const idfKey = "hashembed/idf"

// LoadIDF returns the persisted IDF table, or nil when none was fitted yet.
func LoadIDF(ctx context.Context, meta knowledge.Meta) (*IDF, error) {
	data, err := meta.Get(ctx, idfKey)
	if err != nil || data == nil {
		return nil, err
	}
	idf := &IDF{}
	if err := idf.UnmarshalBinary(data); err != nil {
		return nil, fmt.Errorf("load IDF: %w", err)
	}
	return idf, nil
}

// SaveIDF persists an IDF table.
func SaveIDF(ctx context.Context, meta knowledge.Meta, idf *IDF) error {
	data, err := idf.MarshalBinary()
	if err != nil {
		return err
	}
	return meta.Set(ctx, meta.DB, idfKey, data)
}
