package core

import (
	"context"
	"fmt"

	"github.com/arsctl/arsctl/internal/server/reorder"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// CheckOrderSettings is the rule for order settings: a policy that is ""
// (inherit) or a name of reorder.Policies, and a hold window that is nil
// (inherit) or from 0 (none) to arsapi.MaxHoldMinutes. The error says
// what is wrong.
func CheckOrderSettings(set arsapi.OrderSettings) error {
	if _, ok := reorder.Policies[set.Policy]; set.Policy != "" && !ok {
		return fmt.Errorf("order policy %q is not forecast or threshold", set.Policy)
	}
	if set.HoldMinutes != nil && (*set.HoldMinutes < 0 || *set.HoldMinutes > arsapi.MaxHoldMinutes) {
		return fmt.Errorf("hold_minutes %d is not between 0 and %d", *set.HoldMinutes, arsapi.MaxHoldMinutes)
	}
	return nil
}

// OrderSettings returns the order policy and hold window of accountID
// (id "") or of one of its enrollments, as set and as they apply
// (Effective). ErrNotFound for an enrollment of another account.
func (s *Service) OrderSettings(ctx context.Context, accountID, id string) (arsapi.OrderSettings, error) {
	return s.st.OrderSettings(ctx, accountID, id)
}

// DefaultOrderSettings returns the server's order policy and hold
// window, which an account that set neither gets.
func (s *Service) DefaultOrderSettings() arsapi.EffectiveOrderSettings {
	return s.st.DefaultOrderSettings()
}

// SetOrderSettings sets the order policy and hold window of accountID
// (id "") or of one of its enrollments (CheckOrderSettings: else an
// invalid *arsapi.Problem) and returns them as they now apply.
func (s *Service) SetOrderSettings(ctx context.Context, accountID, id string, set arsapi.OrderSettings) (arsapi.OrderSettings, error) {
	if err := CheckOrderSettings(set); err != nil {
		return set, invalid(err.Error())
	}
	out, err := s.st.SetOrderSettings(ctx, accountID, id, set)
	if err != nil {
		return out, err
	}
	hold := -1
	if set.HoldMinutes != nil {
		hold = *set.HoldMinutes
	}
	s.log.InfoContext(ctx, "order settings set", "account", accountID, "enrollment", id, "policy", set.Policy, "hold_minutes", hold)
	return out, nil
}
