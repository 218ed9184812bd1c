package cloudtrail

import (
	"encoding/json"

	"github.com/yagura-dev/yagura/internal/inventory"
)

// jsonMerge adds the JSON object of v to m.
func jsonMerge(m map[string]any, v any) error {
	return json.Unmarshal(inventory.MarshalConfig(v), &m)
}
