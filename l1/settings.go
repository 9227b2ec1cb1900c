package l1

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/spf13/viper"
)

// Settings are Cairn's own settings of a node home, beside CometBFT's
// config.toml, in config/cairn.toml.
type Settings struct {
	// RPC is the Ethereum JSON-RPC listen address ("" disables it).
	RPC string `mapstructure:"rpc"`
}

// SettingsFile is where a home keeps its Settings.
func SettingsFile(home string) string { return filepath.Join(home, "config", "cairn.toml") }

// WriteSettings writes a home's settings.
func WriteSettings(home string, s Settings) error {
	body := "# Cairn node settings (CometBFT's own are in config.toml).\n" +
		"# Ethereum JSON-RPC listen address, HTTP and WebSocket on one port.\n" +
		"rpc = " + strconv.Quote(s.RPC) + "\n"
	return os.WriteFile(SettingsFile(home), []byte(body), 0o600)
}

// ReadSettings reads a home's settings; a home without the file gets the
// defaults (JSON-RPC at 127.0.0.1:8545).
func ReadSettings(home string) (Settings, error) {
	s := Settings{RPC: "127.0.0.1:8545"}
	if _, err := os.Stat(SettingsFile(home)); errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	v := viper.New()
	v.SetConfigFile(SettingsFile(home))
	if err := v.ReadInConfig(); err != nil {
		return s, fmt.Errorf("read %s: %w", SettingsFile(home), err)
	}
	if err := v.Unmarshal(&s); err != nil {
		return s, fmt.Errorf("parse %s: %w", SettingsFile(home), err)
	}
	return s, nil
}
