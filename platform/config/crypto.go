package config

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
)

// Keyring holds the AES-256 keys secrets are encrypted with: the primary one encrypts, all of
// them decrypt, so keys can be rotated without losing anything.
type Keyring struct {
	primary string
	aeads   map[string]cipher.AEAD
}

// NewKeyring builds a keyring from base64-encoded 32-byte keys by id.
func NewKeyring(primary string, keys map[string]string) (*Keyring, error) {
	k := &Keyring{primary: primary, aeads: map[string]cipher.AEAD{}}
	for id, b64 := range keys {
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(raw) != 32 {
			return nil, fmt.Errorf("secret key %s: must be 32 bytes, base64-encoded", id) // never echo the key
		}
		block, err := aes.NewCipher(raw)
		if err != nil {
			return nil, fmt.Errorf("secret key %s: %w", id, err)
		}
		if k.aeads[id], err = cipher.NewGCM(block); err != nil {
			return nil, fmt.Errorf("secret key %s: %w", id, err)
		}
	}
	if _, ok := k.aeads[primary]; !ok {
		return nil, fmt.Errorf("the primary secret key %q is not among the keys", primary)
	}
	return k, nil
}

// Primary is the id of the key new secrets are encrypted with.
func (k *Keyring) Primary() string { return k.primary }

// Encrypt seals plaintext with the primary key; aad binds the ciphertext to where it belongs.
func (k *Keyring) Encrypt(plaintext, aad []byte) (keyID string, ciphertext []byte, err error) {
	a := k.aeads[k.primary]
	nonce := make([]byte, a.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", nil, err
	}
	return k.primary, a.Seal(nonce, nonce, plaintext, aad), nil
}

// ErrUnknownKey means a ciphertext names a key the keyring does not hold.
var ErrUnknownKey = errors.New("secret encrypted with a key this keyring does not hold")

// Decrypt opens a ciphertext sealed by Encrypt with the named key.
func (k *Keyring) Decrypt(keyID string, ciphertext, aad []byte) ([]byte, error) {
	a, ok := k.aeads[keyID]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownKey, keyID)
	}
	if len(ciphertext) < a.NonceSize() {
		return nil, errors.New("secret ciphertext is truncated")
	}
	pt, err := a.Open(nil, ciphertext[:a.NonceSize()], ciphertext[a.NonceSize():], aad)
	if err != nil {
		return nil, errors.New("secret ciphertext does not authenticate (wrong key or tampered)")
	}
	return pt, nil
}

// NewKey returns a fresh base64-encoded 32-byte key.
func NewKey() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}
