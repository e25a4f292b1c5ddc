// Package config reads and writes arsctl's configuration file
// ($XDG_CONFIG_HOME/arsctl/config.json) and knows its state directory
// ($XDG_STATE_HOME/arsctl), with environment overrides.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/arsctl/arsctl/pkg/atomicfile"
)

// Config is the user's configuration. Empty fields mean "default".
type Config struct {
	// Server is the ARS API base URL, e.g. https://ars.example.com.
	Server string `json:"server,omitempty"`
	// Provider is the default provider for register: canon or amazon.
	Provider string `json:"provider,omitempty"`
	// Output is the default output format: "table" or "json".
	Output string `json:"output,omitempty"`
	// SNMP holds the credentials used to ask printers over SNMP.
	SNMP SNMP `json:"snmp,omitzero"`

	path string
}

// SNMP holds SNMP credentials: a v2c community, or an SNMPv3 user with
// its protocols and passwords. The file is private (0600); the
// environment (ARS_SNMP_COMMUNITY, ARS_SNMP_AUTH_PASSWORD,
// ARS_SNMP_PRIV_PASSWORD) overrides the secrets.
type SNMP struct {
	Community    string `json:"community,omitempty"`
	User         string `json:"user,omitempty"`
	AuthProtocol string `json:"auth_protocol,omitempty"`
	AuthPassword string `json:"auth_password,omitempty"`
	PrivProtocol string `json:"priv_protocol,omitempty"`
	PrivPassword string `json:"priv_password,omitempty"`
}

// Env is how config reads the environment (os.Getenv in production).
type Env func(string) string

// ConfigDir returns $XDG_CONFIG_HOME/arsctl (ARS_CONFIG_DIR overrides).
func ConfigDir(getenv Env) string {
	if d := getenv("ARS_CONFIG_DIR"); d != "" {
		return d
	}
	if d := getenv("XDG_CONFIG_HOME"); d != "" {
		return filepath.Join(d, "arsctl")
	}
	return filepath.Join(home(getenv), ".config", "arsctl")
}

// StateDir returns $XDG_STATE_HOME/arsctl (ARS_STATE_DIR overrides): TLS
// pins, the token file when no keyring exists, monitor state.
func StateDir(getenv Env) string {
	if d := getenv("ARS_STATE_DIR"); d != "" {
		return d
	}
	if d := getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "arsctl")
	}
	return filepath.Join(home(getenv), ".local", "state", "arsctl")
}

func home(getenv Env) string {
	if h := getenv("HOME"); h != "" {
		return h
	}
	if h, err := os.UserHomeDir(); err == nil {
		return h
	}
	return "."
}

// Load reads the config file; a missing file is an empty Config.
// ARS_SERVER and ARS_PROVIDER override the file.
func Load(getenv Env) (*Config, error) {
	path := filepath.Join(ConfigDir(getenv), "config.json")
	c := &Config{path: path}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("read config: %w", err)
	default:
		if err := json.Unmarshal(b, c); err != nil {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if v := getenv("ARS_SERVER"); v != "" {
		c.Server = v
	}
	if v := getenv("ARS_PROVIDER"); v != "" {
		c.Provider = v
	}
	return c, nil
}

// Path is the file the config was read from and is saved to.
func (c *Config) Path() string { return c.path }

// Save writes the config file (0600, directory 0700), atomically.
func (c *Config) Save() error {
	return atomicfile.WriteJSON(c.path, c)
}
